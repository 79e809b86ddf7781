package io.matryoshka.it;

import static org.junit.Assert.assertEquals;

import io.matryoshka.it.cluster.ElasticsearchCluster;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.ClassRule;
import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.TestRule;

/**
 * The check outside {@code ./mvnw verify} (its name does not end in {@code IT}): installs the
 * official Elasticsearch JavaScript client, LangChain.js and LlamaIndex.TS from npm
 * ({@code integTest/js/package.json}, exact versions) and runs {@code integTest/js/clients-check.mjs}
 * against one real node with the plugin. Needs node 20+, npm and the npm registry, which CI does not
 * have; run it with
 *
 * <pre>./mvnw verify -Dit.test=ClientsCheck -Dtest=NONE -Dsurefire.failIfNoSpecifiedTests=false</pre>
 *
 * The script's output goes to the console and to {@code target/clients-check.log}.
 */
public class ClientsCheck {
  private static final Path JS_DIR = Path.of(System.getProperty("tests.integ.dir", "integTest")).toAbsolutePath().resolve("js");
  private static final Path SLICE_DIR = Path.of("src/test/resources/debian-bge-small-slice").toAbsolutePath();

  @ClassRule
  public static final ElasticsearchCluster cluster = ElasticsearchCluster.singleNode("clients-check").heap("1g").build();

  @Rule public final TestRule logs = cluster.logTailOnFailure();

  @Test
  public void officialClientsAndFrameworksRunUnmodified() throws Exception {
    Path log = Path.of("target", "clients-check.log").toAbsolutePath();
    List<String> output = new ArrayList<>();
    assertEquals("npm install failed", 0, run(List.of("npm", "install", "--no-audit", "--no-fund"), output, 600));
    output.clear();
    int exit = run(List.of("node", "clients-check.mjs", "http://" + cluster.node(0).httpAddress(), SLICE_DIR.toString()), output, 900);
    Files.write(log, output, StandardCharsets.UTF_8);
    assertEquals("clients-check.mjs failed (output: " + log + ")", 0, exit);
  }

  private static int run(List<String> command, List<String> output, long timeoutSeconds) throws IOException, InterruptedException {
    Process process = new ProcessBuilder(command).directory(JS_DIR.toFile()).redirectErrorStream(true).start();
    try (BufferedReader reader = new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8))) {
      for (String line = reader.readLine(); line != null; line = reader.readLine()) {
        System.out.println(line);
        output.add(line);
      }
    }
    if (process.waitFor(timeoutSeconds, TimeUnit.SECONDS) == false) {
      process.destroyForcibly();
      return -1;
    }
    return process.exitValue();
  }
}
