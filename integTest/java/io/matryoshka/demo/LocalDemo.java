package io.matryoshka.demo;

import io.matryoshka.bench.Fvecs;
import io.matryoshka.it.cluster.ElasticsearchCluster;
import io.matryoshka.it.cluster.Json;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.elasticsearch.client.RestClient;

/**
 * The main job: a local Elasticsearch node with the plugin on localhost:9200, real sample data
 * (4,000 Debian package descriptions embedded with bge-small-en-v1.5), example searches printed
 * with the hits' texts, and curl commands to try; then searches for texts typed on standard input
 * (embedded locally by the same model); the node runs until Ctrl-C.
 *
 * <p>Run with {@code ./mvnw -Prun} (the profile builds the plugin, unpacks the distribution and
 * passes the harness its locations). {@code -Drun.exitAfterExamples=true} stops after the examples.
 */
public final class LocalDemo {
  static final String INDEX = "debian";
  static final String SLICE = "/debian-bge-small-slice/";
  static final int DIMS = 384;
  /**
   * Searches run, unprinted, before the printed ones. A fresh node runs its first search in the
   * interpreter while loading its classes (0.33-1.3 s in 15 runs, with a metaspace-triggered GC
   * of up to 0.4 s in it); both JVMs then compile the search path as it gets hot. Measured on a
   * 2-core host at load average 7-8 (one segment of 4,000 documents): the node's median
   * {@code took} was 137 ms over searches 1-4, 8 ms over 11-25, 4 ms over 101-300 and 1 ms from
   * 301 on; the round trip 149 ms, 14 ms, 10 ms, then 3.3-4.7 ms, and 1.7 ms from 1,501 on.
   * Before, the demo printed searches 1-4 and its typed searches came next.
   */
  static final int WARM_UP_SEARCHES = 1000;
  /** ... or as many as fit in this time, on a host too busy for 1,000. */
  static final long WARM_UP_BUDGET_NANOS = 10_000_000_000L;

  private final RestClient client;
  private final PrintStream out;

  LocalDemo(RestClient client, PrintStream out) {
    this.client = client;
    this.out = out;
  }

  public static void main(String[] args) throws Exception {
    int port = Integer.getInteger("run.port", 9200);
    if (portTaken(port)) {
      System.err.println(
          "Port " + port + " is already in use (another Elasticsearch?). Stop it, or run with -Drun.port=<free port>.");
      System.exit(1);
    }
    System.out.println("Starting Elasticsearch " + System.getProperty("tests.es.version") + " with the matryoshka-vector plugin on localhost:" + port + " ...");
    ElasticsearchCluster cluster = ElasticsearchCluster.singleNode("matryoshka-demo").httpPort(port).heap("1g").build();
    // The harness's JVM shutdown hook stops the node on Ctrl-C as well.
    cluster.start();
    try {
      LocalDemo demo = new LocalDemo(cluster.client(), System.out);
      Path workDir = cluster.dir();
      demo.loadSampleData();
      demo.warmUp(WARM_UP_SEARCHES, WARM_UP_BUDGET_NANOS);
      List<Example> examples = demo.runExamples(4);
      demo.printCurlCommands(port, workDir, examples.get(0));
      if (Boolean.getBoolean("run.exitAfterExamples")) {
        return;
      }
      System.out.println();
      System.out.println("The node keeps running at http://localhost:" + port + " (data and logs: " + workDir + "). Press Ctrl-C to stop it.");
      demo.searchTypedText(typedInput());
      Thread.currentThread().join();
    } finally {
      cluster.stop();
    }
  }

  /**
   * What the user types: the terminal itself where there is one, since Maven's exec plugin does
   * not hand its standard input to this JVM; else standard input (a pipe, when run directly).
   */
  private static BufferedReader typedInput() {
    Path tty = Path.of("/dev/tty");
    if (System.console() == null && Files.isReadable(tty)) {
      try {
        return Files.newBufferedReader(tty, StandardCharsets.UTF_8);
      } catch (IOException e) {
        // no controlling terminal after all (e.g. a CI job): fall back to standard input
      }
    }
    return new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
  }

  private static boolean portTaken(int port) {
    try (ServerSocket socket = new ServerSocket(port, 1, InetAddress.getLoopbackAddress())) {
      return false;
    } catch (IOException e) {
      return true;
    }
  }

  /** Creates the index and bulk-loads the slice with a progress bar. */
  void loadSampleData() throws IOException {
    float[][] vectors = readVectors("docs.fvecs");
    List<String[]> texts = readTsv("docs.tsv");
    Json.call(client, "DELETE", "/" + INDEX + "?ignore_unavailable=true", null);
    Map<String, Object> mappings =
        Map.of(
            "properties",
            Map.of(
                "embedding", Map.of("type", "matryoshka_vector", "dims", DIMS, "similarity", "cosine"),
                "text", Map.of("type", "text"),
                "ordinal", Map.of("type", "integer")));
    Json.call(
        client,
        "PUT",
        "/" + INDEX,
        Map.of("settings", Map.of("number_of_shards", 1, "number_of_replicas", 0, "refresh_interval", "-1"), "mappings", mappings));
    out.println("Created index [" + INDEX + "]: field [embedding] is a matryoshka_vector (384 dims, cosine).");
    long start = System.nanoTime();
    int batch = 250;
    for (int from = 0; from < vectors.length; from += batch) {
      StringBuilder body = new StringBuilder();
      int to = Math.min(vectors.length, from + batch);
      for (int i = from; i < to; i++) {
        body.append(Json.write(Map.of("index", Map.of("_id", Integer.toString(i))))).append('\n');
        Map<String, Object> doc = new LinkedHashMap<>();
        doc.put("ordinal", i);
        doc.put("text", texts.get(i)[1]);
        doc.put("embedding", toList(vectors[i]));
        body.append(Json.write(doc)).append('\n');
      }
      Map<String, Object> response = Json.call(client, "POST", "/" + INDEX + "/_bulk", body.toString());
      if (Boolean.TRUE.equals(response.get("errors"))) {
        throw new IllegalStateException("bulk request had errors: " + Json.write(response).substring(0, 500));
      }
      progress(to, vectors.length, start);
    }
    out.println();
    Json.call(client, "PUT", "/" + INDEX + "/_settings", Map.of("index", Map.of("refresh_interval", "1s")));
    Json.call(client, "POST", "/" + INDEX + "/_refresh", null);
  }

  private void progress(int done, int total, long startNanos) {
    int width = 40;
    int filled = (int) ((long) width * done / total);
    double seconds = (System.nanoTime() - startNanos) / 1e9;
    out.printf(
        Locale.ROOT,
        "\rLoading  [%s%s] %,d/%,d docs  %,.0f docs/s",
        "#".repeat(filled),
        ".".repeat(width - filled),
        done,
        total,
        done / Math.max(seconds, 1e-9));
    out.flush();
  }

  /**
   * Runs up to {@code searches} unprinted searches (random unit query vectors, so that no printed
   * search repeats one of them) for at most {@code budgetNanos}, and prints how the first one and
   * the last ones went: the printed searches then show the warm speed.
   */
  void warmUp(int searches, long budgetNanos) throws IOException {
    java.util.Random random = new java.util.Random(42);
    long start = System.nanoTime();
    List<Search> done = new ArrayList<>();
    while (done.size() < searches && System.nanoTime() - start < budgetNanos) {
      float[] vector = new float[DIMS];
      double norm = 0;
      for (int d = 0; d < DIMS; d++) {
        vector[d] = (float) random.nextGaussian();
        norm += vector[d] * vector[d];
      }
      for (int d = 0; d < DIMS; d++) {
        vector[d] /= (float) Math.sqrt(norm);
      }
      done.add(search(vector, 5));
    }
    double seconds = (System.nanoTime() - start) / 1e9;
    List<Search> last = done.subList(Math.max(0, done.size() - 100), done.size());
    out.printf(
        Locale.ROOT,
        "Warm-up: %,d searches in %.1f s, unprinted (the first took %,d ms on the node, %,.0f ms round trip; the last %d: median %s)%n",
        done.size(),
        seconds,
        done.get(0).tookMillis(),
        done.get(0).roundTripMillis(),
        last.size(),
        Search.medians(last));
  }

  /**
   * One search's times: the node's own {@code took} (whole milliseconds: from the moment the
   * node starts the search to its response object; not HTTP, parsing the request, writing the
   * response) and the client's round trip (request sent to response read and parsed).
   */
  record Search(Map<String, Object> response, long tookMillis, double roundTripMillis) {
    String times() {
      return String.format(Locale.ROOT, "took %d ms on the node, %.1f ms round trip", tookMillis, roundTripMillis);
    }

    static String medians(List<Search> searches) {
      long[] took = searches.stream().mapToLong(Search::tookMillis).sorted().toArray();
      double[] trip = searches.stream().mapToDouble(Search::roundTripMillis).sorted().toArray();
      return String.format(Locale.ROOT, "took %d ms on the node, %.1f ms round trip", took[took.length / 2], trip[trip.length / 2]);
    }
  }

  /** A {@code matryoshka_knn} search for the {@code k} nearest texts, timed. */
  Search search(float[] vector, int k) {
    String body =
        Json.write(
            Map.of(
                "size", k,
                "_source", List.of("text"),
                "query", Map.of("matryoshka_knn", Map.of("field", "embedding", "query_vector", toList(vector), "k", k))));
    long start = System.nanoTime();
    Map<String, Object> response = Json.call(client, "POST", "/" + INDEX + "/_search", body);
    double roundTrip = (System.nanoTime() - start) / 1e6;
    return new Search(response, ((Number) response.get("took")).longValue(), roundTrip);
  }

  /** One example search and whether a hit was the query's own package description. */
  record Example(String query, float[] vector, int ownOrdinal, List<String> hitIds, boolean foundOwn) {}

  /**
   * Searches with the first {@code count} sample queries whose own package description is among
   * the loaded documents (the slice holds 4,000 of the 60,594), and prints the hits.
   */
  List<Example> runExamples(int count) throws IOException {
    float[][] vectors = readVectors("queries.fvecs");
    List<String[]> queries = readTsv("queries.tsv");
    int documents = readTsv("docs.tsv").size();
    List<Example> examples = new ArrayList<>();
    for (int q = 0; q < queries.size() && examples.size() < count; q++) {
      String text = queries.get(q)[1];
      int own = Integer.parseInt(queries.get(q)[2]);
      if (own >= documents) {
        continue;
      }
      Search search = search(vectors[q], 5);
      Map<String, Object> response = search.response();
      out.println();
      out.println("Query: \"" + text + "\"   (" + search.times() + ")");
      List<String> ids = new ArrayList<>();
      boolean foundOwn = false;
      @SuppressWarnings("unchecked")
      List<Map<String, Object>> hits = (List<Map<String, Object>>) Json.path(response, "hits.hits");
      for (Map<String, Object> hit : hits) {
        String id = (String) hit.get("_id");
        ids.add(id);
        boolean isOwn = id.equals(Integer.toString(own));
        foundOwn |= isOwn;
        String hitText = (String) Json.path(hit, "_source.text");
        out.printf(Locale.ROOT, "  %.4f %s %s%n", ((Number) hit.get("_score")).doubleValue(), isOwn ? "*" : " ", truncate(hitText, 110));
      }
      examples.add(new Example(text, vectors[q], own, ids, foundOwn));
    }
    out.println();
    out.println("(* = the package whose one-line synopsis was the query)");
    return examples;
  }

  /**
   * Reads search texts line by line until the input ends, embeds each with the sample's own model
   * and prints the hits: a search a person types, end to end.
   */
  void searchTypedText(BufferedReader input) throws IOException {
    out.println();
    out.println("Loading the bge-small-en-v1.5 model to embed your own queries ...");
    TextQueries embedder = new TextQueries();
    while (true) {
      out.println();
      out.print("Search the package descriptions (type a text, Enter; Ctrl-C to stop): ");
      out.flush();
      String line = input.readLine();
      if (line == null) {
        return;
      }
      if (line.isBlank() == false) {
        searchText(embedder, line.strip(), 5);
      }
    }
  }

  /** Embeds {@code text}, searches with {@code matryoshka_knn}, prints and returns the hits' ids. */
  List<String> searchText(TextQueries embedder, String text, int k) throws IOException {
    long start = System.nanoTime();
    float[] vector = embedder.embed(text);
    double embedMillis = (System.nanoTime() - start) / 1e6;
    Search search = search(vector, k);
    Map<String, Object> response = search.response();
    out.printf(Locale.ROOT, "Query: \"%s\"   (embedded in %.0f ms; search %s)%n", text, embedMillis, search.times());
    List<String> ids = new ArrayList<>();
    @SuppressWarnings("unchecked")
    List<Map<String, Object>> hits = (List<Map<String, Object>>) Json.path(response, "hits.hits");
    for (Map<String, Object> hit : hits) {
      ids.add((String) hit.get("_id"));
      out.printf(
          Locale.ROOT, "  %.4f %s%n", ((Number) hit.get("_score")).doubleValue(), truncate((String) Json.path(hit, "_source.text"), 112));
    }
    return ids;
  }

  void printCurlCommands(int port, Path workDir, Example example) throws IOException {
    Path request = workDir.resolve("example-search.json");
    Map<String, Object> body =
        Map.of(
            "size", 3,
            "_source", List.of("text"),
            "query",
            Map.of(
                "matryoshka_knn",
                Map.of("field", "embedding", "query_vector", toList(example.vector()), "k", 10)));
    Files.writeString(request, Json.write(body));
    String base = "http://localhost:" + port;
    out.println();
    out.println("Try it (the example's 384-dim query vector for \"" + example.query() + "\" is in " + request + "):");
    out.println("  curl -s -H 'Content-Type: application/json' '" + base + "/" + INDEX + "/_search?pretty' -d @" + request);
    out.println("  curl -s '" + base + "/" + INDEX + "/_matryoshka/stats?pretty'");
    out.println("  curl -s '" + base + "/_cat/indices?v'");
    out.println("  curl -s '" + base + "/" + INDEX + "/_mapping?pretty'");
  }

  private static String truncate(String text, int max) {
    return text.length() <= max ? text : text.substring(0, max - 1) + "…";
  }

  private static List<Float> toList(float[] vector) {
    List<Float> list = new ArrayList<>(vector.length);
    for (float v : vector) {
      list.add(v);
    }
    return list;
  }

  private static float[][] readVectors(String name) throws IOException {
    try (InputStream in = resource(name)) {
      return Fvecs.readFvecs(in, Integer.MAX_VALUE, name);
    }
  }

  private static List<String[]> readTsv(String name) throws IOException {
    List<String[]> rows = new ArrayList<>();
    try (BufferedReader reader = new BufferedReader(new InputStreamReader(resource(name), StandardCharsets.UTF_8))) {
      for (String line = reader.readLine(); line != null; line = reader.readLine()) {
        rows.add(line.split("\t", -1));
      }
    }
    return rows;
  }

  private static InputStream resource(String name) throws IOException {
    InputStream in = LocalDemo.class.getResourceAsStream(SLICE + name);
    if (in == null) {
      throw new IOException("sample data " + SLICE + name + " is missing from the test classpath");
    }
    return in;
  }
}
