package io.matryoshka.demo;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

import io.matryoshka.it.cluster.ElasticsearchCluster;
import io.matryoshka.it.cluster.Json;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.ClassRule;
import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.TestRule;

/** What README's main command does, run against a node on a free port, without waiting for Ctrl-C. */
public class LocalDemoIT {
  @ClassRule
  public static final ElasticsearchCluster cluster = ElasticsearchCluster.singleNode("demo-it").heap("1g").build();

  @Rule public final TestRule logs = cluster.logTailOnFailure();

  @Test
  public void loadsTheSampleAndFindsTheQueriedPackages() throws Exception {
    ByteArrayOutputStream printed = new ByteArrayOutputStream();
    LocalDemo demo = new LocalDemo(cluster.client(), new PrintStream(printed, true, StandardCharsets.UTF_8));
    demo.loadSampleData();
    assertEquals(4000, ((Number) Json.path(Json.call(cluster.client(), "GET", "/" + LocalDemo.INDEX + "/_count", null), "count")).intValue());

    // fewer than the main job's 1,000: this checks the step, not the speed it brings
    demo.warmUp(200, LocalDemo.WARM_UP_BUDGET_NANOS);
    List<LocalDemo.Example> examples = demo.runExamples(4);
    assertEquals(4, examples.size());
    for (LocalDemo.Example example : examples) {
      assertEquals(example.query(), 5, example.hitIds().size());
    }
    // Query 0's own description is in the sample and is its nearest neighbour (measured): a real
    // end-to-end check that vectors, mapping and query line up, not just that hits come back.
    LocalDemo.Example first = examples.get(0);
    assertTrue(first.query() + " -> " + first.hitIds() + ", own " + first.ownOrdinal(), first.foundOwn());
    String output = printed.toString(StandardCharsets.UTF_8);
    assertTrue(output, output.contains("Query: \"" + first.query() + "\""));
    assertTrue(output, output.contains("4,000/4,000 docs"));
    assertTrue(output, output.matches("(?s).*Warm-up: [\\d,]+ searches in .*"));
    assertTrue(output, output.matches("(?s).*\\(took \\d+ ms on the node, \\d+\\.\\d ms round trip\\).*"));
  }

  /**
   * Typed text goes through the sample's own model, end to end: a plain-English description of
   * what a package does finds such a package first (the slice holds a few Bayesian mail filters'
   * descriptions among its 4,000), not just any five hits.
   */
  @Test
  public void typedTextFindsWhatItDescribes() throws Exception {
    ByteArrayOutputStream printed = new ByteArrayOutputStream();
    LocalDemo demo = new LocalDemo(cluster.client(), new PrintStream(printed, true, StandardCharsets.UTF_8));
    demo.loadSampleData();
    String typed = "filter junk e-mail with Bayesian statistics";
    demo.searchTypedText(new java.io.BufferedReader(new java.io.StringReader(typed + "\n\n")));
    String output = printed.toString(StandardCharsets.UTF_8);
    assertTrue(output, output.contains("Query: \"" + typed + "\""));
    List<String> ids = demo.searchText(new TextQueries(), typed, 5);
    assertEquals(5, ids.size());
    String firstText = (String) Json.path(Json.call(cluster.client(), "GET", "/" + LocalDemo.INDEX + "/_doc/" + ids.get(0), null), "_source.text");
    String first = firstText.toLowerCase(java.util.Locale.ROOT);
    assertTrue(output + "\nfirst hit: " + firstText, first.contains("spam") || first.contains("mail"));
  }
}
