package io.matryoshka.it;

import io.matryoshka.it.cluster.ElasticsearchCluster;
import io.matryoshka.it.rest.YamlSuite;
import io.matryoshka.it.rest.YamlTestExecutor;

import org.junit.ClassRule;
import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.TestRule;
import org.junit.runner.RunWith;
import org.junit.runners.Parameterized;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Runs every YAML REST test under {@code rest-api-spec/test/} (any depth, {@code *.yml}) against one real
 * node with the plugin installed; each test of each file is its own JUnit test, named
 * {@code <file path> / <test name>}. A file that does not parse shows up as one failing test.
 *
 * <p>The same node also runs the runner's self-tests in {@code integTest/yaml-selftest/}:
 * {@code passes/*.yml} must pass, and every test in {@code must-fail/*.yml} must fail, at its last step,
 * so each kind of assertion is shown to be able to fail.
 *
 * <p>{@code -Dtests.yaml.filter=<text>} runs only the tests whose name contains the text, e.g.
 * {@code matryoshka/20_mapping.yml} or {@code / rejects bad dims}.
 */
@RunWith(Parameterized.class)
public class YamlRestSuiteIT {

    private static final Path REST_SPEC_DIR = Path.of(System.getProperty("tests.rest.spec.dir", "rest-api-spec")).toAbsolutePath();
    private static final Path SELF_TEST_DIR = Path.of(System.getProperty("tests.integ.dir", "integTest")).toAbsolutePath().resolve("yaml-selftest");

    @ClassRule
    public static final ElasticsearchCluster cluster = ElasticsearchCluster.singleNode("yaml-rest").build();

    @Rule
    public final TestRule logs = cluster.logTailOnFailure();

    @Parameterized.Parameters(name = "{0}")
    public static List<Object[]> tests() {
        List<Object[]> tests = new ArrayList<>();
        int projectTests = add(tests, REST_SPEC_DIR.resolve("test"), "", false);
        if (projectTests == 0 && System.getProperty("tests.yaml.filter", "").isEmpty()) {
            tests.add(new Object[] { "no suites", null, null, false, new AssertionError("no *.yml test under " + REST_SPEC_DIR.resolve("test")) });
        }
        add(tests, SELF_TEST_DIR.resolve("passes"), "[runner self-test] ", false);
        add(tests, SELF_TEST_DIR.resolve("must-fail"), "[runner self-test, must fail] ", true);
        return tests;
    }

    private static int add(List<Object[]> tests, Path root, String prefix, boolean mustFail) {
        int before = tests.size();
        String filter = System.getProperty("tests.yaml.filter", "");
        try {
            for (YamlSuite suite : YamlSuite.loadAll(root)) {
                for (String name : suite.tests().keySet()) {
                    String displayName = prefix + suite.path() + " / " + name;
                    if (displayName.contains(filter)) {
                        tests.add(new Object[] { displayName, suite, name, mustFail, null });
                    }
                }
            }
        } catch (Exception e) {
            tests.add(new Object[] { prefix + "loading " + root, null, null, false, e });
        }
        return tests.size() - before;
    }

    private final YamlSuite suite;
    private final String testName;
    private final boolean mustFail;
    private final Throwable loadFailure;

    public YamlRestSuiteIT(String displayName, YamlSuite suite, String testName, boolean mustFail, Throwable loadFailure) {
        this.suite = suite;
        this.testName = testName;
        this.mustFail = mustFail;
        this.loadFailure = loadFailure;
    }

    @Test
    public void test() throws Throwable {
        if (loadFailure != null) {
            throw loadFailure;
        }
        YamlTestExecutor executor = new YamlTestExecutor(cluster.client(), REST_SPEC_DIR.resolve("api"), System.getProperty("tests.es.version"));
        if (mustFail == false) {
            executor.run(suite, testName);
            return;
        }
        String lastStep = "[" + testName + "] step " + suite.tests().get(testName).size() + " ";
        try {
            executor.run(suite, testName);
        } catch (AssertionError expected) {
            if (expected.getMessage() == null || expected.getMessage().startsWith(lastStep) == false) {
                throw new AssertionError("must fail at its last step (" + lastStep + "...) but failed elsewhere", expected);
            }
            return;
        }
        throw new AssertionError(suite.path() + " / " + testName + " passed, but the runner must reject it");
    }
}
