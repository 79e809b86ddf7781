package io.matryoshka.it.cluster;

import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * The operating-system user the nodes run as. Elasticsearch refuses to start as root, and this project's
 * CI runs Maven as root: then the nodes run as an unprivileged user ({@value #DEFAULT_NAME}, or
 * {@code -Dtests.es.user=...}), created when missing, owning the node's files, and started through
 * {@code setpriv} (which execs, so the process we hold is the node's launcher itself and a SIGTERM we send
 * reaches it directly). A non-root build runs the nodes as itself.
 */
final class NodeUser {

    static final String DEFAULT_NAME = "es-it";

    private final String name; // null: run as the current user

    private NodeUser(String name) {
        this.name = name;
    }

    static NodeUser forThisProcess() {
        if ("0".equals(exec(List.of("id", "-u")).output().trim()) == false) {
            return new NodeUser(null);
        }
        String name = System.getProperty("tests.es.user", DEFAULT_NAME);
        if (exec(List.of("id", "-u", name)).ok() == false) {
            // system account, no home, no login shell, its own group
            Result added = exec(List.of("useradd", "--system", "--no-create-home", "--user-group", "--shell", "/usr/sbin/nologin", name));
            if (exec(List.of("id", "-u", name)).ok() == false) {
                throw new IllegalStateException("could not create user " + name + " to run Elasticsearch (it refuses root): " + added.output());
            }
            System.out.println("[it] created system user " + name + " to run Elasticsearch nodes (the build runs as root)");
        }
        return new NodeUser(name);
    }

    boolean dropsPrivileges() {
        return name != null;
    }

    String name() {
        return name == null ? System.getProperty("user.name") : name;
    }

    /** The command that runs {@code command} as this user. */
    List<String> wrap(List<String> command) {
        if (name == null) {
            return command;
        }
        List<String> wrapped = new ArrayList<>(List.of("setpriv", "--reuid=" + name, "--regid=" + name, "--init-groups", "--"));
        wrapped.addAll(command);
        return wrapped;
    }

    /** Gives this user the files under {@code path} (no-op when not dropping privileges). */
    void own(Path path) {
        if (name != null) {
            Result chown = exec(List.of("chown", "-R", name + ":" + name, path.toString()));
            if (chown.ok() == false) {
                throw new IllegalStateException("chown -R " + name + " " + path + " failed: " + chown.output());
            }
        }
    }

    /** True when this user can read {@code file} (so every parent folder is traversable for it). */
    boolean canRead(Path file) {
        return exec(wrap(List.of("test", "-r", file.toString()))).ok();
    }

    /** True when this user can create files in {@code dir}. */
    boolean canWriteIn(Path dir) {
        return exec(wrap(List.of("sh", "-c", "test -w \"$0\" && test -x \"$0\"", dir.toString()))).ok();
    }

    record Result(int exitCode, String output) {
        boolean ok() {
            return exitCode == 0;
        }
    }

    /** Runs a short command, stdin from /dev/null, stderr into stdout. */
    static Result exec(List<String> command) {
        try {
            Process p = new ProcessBuilder(command).redirectErrorStream(true)
                .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")))
                .start();
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            if (p.waitFor(300, TimeUnit.SECONDS) == false) {
                p.destroyForcibly();
                return new Result(-1, out + "\n(" + command + " did not finish in 300s)");
            }
            return new Result(p.exitValue(), out);
        } catch (IOException e) {
            return new Result(-1, "could not run " + command + ": " + e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return new Result(-1, "interrupted while running " + command);
        }
    }
}
