package io.matryoshka.it.bench;

import io.matryoshka.it.cluster.Json;

import org.knowm.xchart.AnnotationText;
import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.XYChart;
import org.knowm.xchart.XYChartBuilder;
import org.knowm.xchart.XYSeries;
import org.knowm.xchart.style.Styler;
import org.knowm.xchart.style.markers.SeriesMarkers;

import java.awt.BasicStroke;
import java.awt.Color;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/** Writes results.json, results.md and recall_vs_p50.png from the report map. */
final class BenchReport {

    private BenchReport() {}

    static void write(Map<String, Object> report, Path out) throws IOException {
        Files.createDirectories(out);
        Files.writeString(out.resolve("results.json"), Json.MAPPER.writerWithDefaultPrettyPrinter().writeValueAsString(report) + "\n");
        Files.writeString(out.resolve("results.md"), markdown(report));
        chart(report, out.resolve("recall_vs_p50.png"));
    }

    @SuppressWarnings("unchecked")
    static List<Map<String, Object>> systems(Map<String, Object> report) {
        return (List<Map<String, Object>>) report.get("systems");
    }

    static String markdown(Map<String, Object> report) {
        StringBuilder sb = new StringBuilder();
        Map<String, Object> ds = (Map<String, Object>) report.get("dataset");
        Map<String, Object> settings = (Map<String, Object>) report.get("settings");
        Map<String, Object> machine = (Map<String, Object>) report.get("machine");
        sb.append("# End-to-end benchmark: ").append(ds.get("name")).append("\n\n");
        sb.append(String.format(Locale.ROOT, "%,d documents x %s dims, %,d queries, k = %s, one shard, 0 replicas, force-merged to one segment,"
            + " node heap %s. Recall@k against the exact float top k (%s).%n%n", ((Number) ds.get("documents")).intValue(), ds.get("dims"),
            ((Number) ds.get("queries")).intValue(), settings.get("k"), settings.get("node_heap"), ds.get("ground_truth")));
        sb.append("Machine: ").append(machine.get("cpu")).append(", ").append(machine.get("cores")).append(" cores, ")
            .append(machine.get("memory_total")).append("; Elasticsearch ").append(machine.get("elasticsearch")).append(" on ")
            .append(machine.get("node_jvm")).append("; load average at start ").append(machine.get("load_average_at_start"));
        if (report.get("load_average_at_end") != null) {
            sb.append(", at end ").append(report.get("load_average_at_end"));
        }
        sb.append(". Commit ").append(machine.get("git_commit")).append(".\n\nCommand: `").append(report.get("command")).append("`\n\n");
        Map<String, Object> protocol = (Map<String, Object>) report.get("protocol");
        Map<String, Object> floorAll = (Map<String, Object>) report.get("request_floor");
        if (protocol != null) {
            sb.append("Protocol: ").append(protocol.get("order")).append(". Paired latency: ").append(protocol.get("warmup_rounds"))
                .append(" warm-up round(s), then ").append(protocol.get("measured_rounds")).append(" measured rounds; ")
                .append(protocol.get("rotation")).append(". Latency: ").append(protocol.get("latency")).append(". Request floor: ")
                .append(protocol.get("request_floor"));
            if (floorAll != null && floorAll.get("p50_ms") != null) {
                sb.append(String.format(Locale.ROOT, ": p50 %.3f ms, p90 %.3f ms, p99 %.3f ms (p50 per measured round %s)", num(floorAll.get("p50_ms")),
                    num(floorAll.get("p90_ms")), num(floorAll.get("p99_ms")), floorAll.get("p50_ms_per_measured_round")));
            }
            sb.append(". p50 - floor: ").append(protocol.get("p50_above_floor")).append(". Ratios: ").append(protocol.get("goal_ratios"))
                .append(". Recall: ").append(protocol.get("recall")).append(".\n\n");
        }
        sb.append("| system | recall@").append(settings.get("k")).append(" | p50 ms | p90 ms | p99 ms | p50 - floor ms | paired median - floor ms |")
            .append(" / hnsw | / bbq_hnsw | / hnsw at equal recall | / bbq_hnsw at equal recall | p50 per round | q/s, 2 clients | index + merge s |")
            .append(" store B/doc | vector field B/doc |\n");
        sb.append("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|---:|---:|---:|\n");
        for (Map<String, Object> s : systems(report)) {
            if (s.get("error") != null) {
                sb.append("| ").append(s.get("name")).append(" | failed: ").append(String.valueOf(s.get("error")).replace('|', '/').replace('\n', ' '))
                    .append(" |||||||||||||||\n");
                continue;
            }
            // a partial report (written after each phase) may lack the later phases' entries
            Map<String, Object> lat = s.get("latency") instanceof Map<?, ?> m0 ? (Map<String, Object>) m0 : Map.of();
            Map<String, Object> idx = s.get("indexing") instanceof Map<?, ?> m1 ? (Map<String, Object>) m1 : Map.of();
            Map<String, Object> disk = s.get("disk") instanceof Map<?, ?> m2 ? (Map<String, Object>) m2 : Map.of();
            Map<String, Object> ratios = s.get("goal_ratios") instanceof Map<?, ?> m ? (Map<String, Object>) m : Map.of();
            sb.append(String.format(Locale.ROOT, "| %s | %.4f | %.3f | %.3f | %.3f | %.3f | %s | %s | %s | %s | %s | %s | %.0f | %s | %.0f | %s |%n", s.get("name"),
                num(s.get("recall_at_k")), num(lat.get("p50_ms")), num(lat.get("p90_ms")), num(lat.get("p99_ms")), num(s.get("search_above_floor_p50_ms")),
                fmt(s.get("paired_median_above_floor_ms"), "%.3f"), fmt(ratios.get("p50_above_floor_vs_es_hnsw"), "%.2f"),
                fmt(ratios.get("p50_above_floor_vs_es_bbq_hnsw"), "%.2f"), atEqualRecall(ratios, "es_hnsw"), atEqualRecall(ratios, "es_bbq_hnsw"),
                lat.get("p50_ms_per_measured_round"),
                num(s.get("throughput_2_clients_qps")),
                s.get("index_of") != null ? s.get("index_of") + "'s index" : String.format(Locale.ROOT, "%.1f", num(idx.get("total_s"))),
                num(disk.get("store_bytes_per_doc")), vectorFieldBytes(disk)));
        }
        sb.append("\n/ hnsw, / bbq_hnsw: the system's p50 - floor divided by that of es_hnsw, es_bbq_hnsw in this run (empty: not in the run,"
            + " or at or below the floor). At equal recall: divided by the fastest of es_hnsw and its variants with more candidates"
            + " (es_hnsw_nc*), or of es_bbq_hnsw's, whose recall@k is at least this system's less " + EndToEndBench.EQUAL_RECALL
            + " (about 1.5 x the sampling error of recall@10 over 1,000 queries; empty: none reaches it). A system naming another's index searches that index (the same mapping, built once, other"
            + " query parameters).\n");
        List<Map<String, Object>> rounds = (List<Map<String, Object>>) report.get("paired_rounds");
        if (rounds != null) {
            sb.append("\n| paired round | seconds | other processes, cores | load average before |\n|---|---:|---:|---|\n");
            for (Map<String, Object> r : rounds) {
                sb.append(String.format(Locale.ROOT, "| %s | %.1f | %.3f | %s |%n", r.get("round"), num(r.get("seconds")), num(r.get("other_processes_cores")),
                    r.get("load_average_before")));
            }
        }
        List<Map<String, Object>> skipped = (List<Map<String, Object>>) report.get("skipped_systems");
        if (skipped != null) {
            sb.append("\nLeft out of this run (indexing time estimated from a sample, not measured):\n\n");
            for (Map<String, Object> k : skipped) {
                sb.append("- `").append(k.get("name")).append("`: ");
                if (k.get("estimated_index_and_merge_s") != null) {
                    sb.append(String.format(Locale.ROOT, "%,.1f s for %,d documents -> about %,.0f s for all (%s)", num(k.get("sample_index_and_merge_s")),
                        ((Number) k.get("sample_documents")).intValue(), num(k.get("estimated_index_and_merge_s")), k.get("scaling")));
                    if (k.get("note") != null) {
                        sb.append("; ").append(k.get("note"));
                    }
                } else {
                    sb.append(k.get("estimate") != null ? k.get("estimate") : "estimate failed: " + k.get("estimate_error"));
                }
                sb.append('\n');
            }
        }
        sb.append("\nWhere the time goes: the search profile API on the first 200 queries (mean ms per query; profiling adds overhead,"
            + " so the client wall time here is above the p50 above). kNN dfs = Elasticsearch's `knn` section; query phase = queries with their"
            + " rewrite (`matryoshka_knn` works in its rewrite) and collectors; the rest is HTTP, coordination, (de)serialisation."
            + " took = the node's own `took`; funnel stages = the plugin's funnel stages' own times inside the node (median; from the"
            + " trace in the profiled query's description; on one thread: Elasticsearch runs profiled searches without the search"
            + " workers).\n\n");
        sb.append("| system | client wall | took | kNN dfs | query phase | funnel stages | fetch | rest | vector ops |\n"
            + "|---|---:|---:|---:|---:|---:|---:|---:|---:|\n");
        for (Map<String, Object> s : systems(report)) {
            Map<String, Object> p = (Map<String, Object>) s.get("server_profile");
            if (p == null) {
                continue;
            }
            double wall = num(p.get("mean_client_wall_ms_with_profiling")), dfs = num(p.get("mean_knn_dfs_phase_ms")),
                query = num(p.get("mean_query_phase_ms")), fetch = num(p.get("mean_fetch_phase_ms"));
            String funnel = p.get("median_funnel_stages_ms") == null ? "" : String.format(Locale.ROOT, "%.2f", num(p.get("median_funnel_stages_ms")));
            String took = p.get("mean_took_ms") == null ? "" : String.format(Locale.ROOT, "%.2f", num(p.get("mean_took_ms")));
            sb.append(String.format(Locale.ROOT, "| %s | %.2f | %s | %.2f | %.2f | %s | %.2f | %.2f | %s |%n", s.get("name"), wall, took, dfs, query,
                funnel, fetch, wall - dfs - query - fetch, p.get("mean_vector_operations") == null ? "" : String.format(Locale.ROOT, "%.0f",
                    num(p.get("mean_vector_operations")))));
        }
        sb.append("\nSystems:\n\n");
        for (Map<String, Object> s : systems(report)) {
            sb.append("- `").append(s.get("name")).append("`: ").append(s.get("description")).append('\n');
        }
        sb.append("\nThroughput: ").append(protocol == null ? "" : protocol.get("throughput"))
            .append(". Indexing: bulk (").append(settings.get("bulk_docs_per_request")).append(" docs per request, ")
            .append(settings.get("bulk_client_threads")).append(" client threads, refresh_interval -1) + refresh + force-merge to one segment.")
            .append(" Disk: the shard's store size (no _source, no compound files) / documents; vector field bytes from the _disk_usage API.")
            .append(" Per-file sizes and the exact requests are in results.json.\n");
        sb.append("\nOther processes on the machine (cores of CPU they used while each system was indexed / during its throughput run): ");
        for (Map<String, Object> s : systems(report)) {
            Map<String, Object> idx = (Map<String, Object>) s.get("indexing");
            sb.append(s.get("name")).append(' ').append(idx == null ? null : idx.get("other_processes_cores")).append(" / ")
                .append(s.get("other_processes_cores_during_throughput")).append("; ");
        }
        sb.setLength(sb.length() - 2);
        sb.append(".\n");
        return sb.toString();
    }

    @SuppressWarnings("unchecked")
    private static String vectorFieldBytes(Map<String, Object> disk) {
        Map<String, Map<String, Object>> perField = (Map<String, Map<String, Object>>) disk.get("disk_usage_api_per_field");
        if (perField == null) {
            return "n/a";
        }
        double sum = 0;
        boolean any = false;
        for (Map.Entry<String, Map<String, Object>> e : perField.entrySet()) {
            String f = e.getKey();
            if (f.equals("v") || f.startsWith("v.") || f.equals("signs")) {
                sum += num(e.getValue().get("total_bytes_per_doc"));
                any = true;
            }
        }
        return any ? String.format(Locale.ROOT, "%.0f", sum) : "n/a";
    }

    /** The ratio to the fastest of the family's systems reaching this recall, and which one: "0.32 (es_hnsw_nc1000)". */
    private static String atEqualRecall(Map<String, Object> ratios, String family) {
        Object ratio = ratios.get("p50_above_floor_vs_" + family + "_at_equal_recall");
        return ratio == null ? "" : fmt(ratio, "%.2f") + " (" + ratios.get(family + "_at_equal_recall") + ")";
    }

    private static String fmt(Object o, String format) {
        return o instanceof Number n ? String.format(Locale.ROOT, format, n.doubleValue()) : "";
    }

    private static double num(Object o) {
        return o instanceof Number n ? n.doubleValue() : Double.NaN;
    }

    static void chart(Map<String, Object> report, Path png) throws IOException {
        Map<String, Object> ds = (Map<String, Object>) report.get("dataset");
        XYChart chart = new XYChartBuilder().width(1100).height(700)
            .title("recall@" + ((Map<String, Object>) report.get("settings")).get("k") + " vs p50 latency: " + ds.get("name") + " ("
                + String.format(Locale.ROOT, "%,d", ((Number) ds.get("documents")).intValue()) + " docs x " + ds.get("dims") + " d, one client)")
            .xAxisTitle("p50 latency, ms (log scale; dashed: request floor, ids query in the same rotation)").yAxisTitle("recall@k").build();
        chart.getStyler().setDefaultSeriesRenderStyle(XYSeries.XYSeriesRenderStyle.Scatter);
        chart.getStyler().setLegendPosition(Styler.LegendPosition.OutsideE);
        chart.getStyler().setXAxisLogarithmic(true);
        chart.getStyler().setMarkerSize(11);
        chart.getStyler().setChartBackgroundColor(Color.WHITE);
        chart.getStyler().setAnnotationTextFontColor(Color.DARK_GRAY);
        double minX = Double.MAX_VALUE, maxX = 0, minY = 1;
        Map<String, Object> floorAll = (Map<String, Object>) report.get("request_floor");
        double floorP50 = floorAll == null ? Double.NaN : num(floorAll.get("p50_ms"));
        int plotted = 0;
        List<Object[]> labels = new java.util.ArrayList<>();
        for (Map<String, Object> s : systems(report)) {
            if (s.get("error") != null || s.get("latency") == null) {
                continue;
            }
            double x = num(((Map<String, Object>) s.get("latency")).get("p50_ms"));
            double y = num(s.get("recall_at_k"));
            XYSeries series = chart.addSeries(s.get("name") + String.format(Locale.ROOT, " (%.3f, %.2f ms)", y, x), new double[] { x }, new double[] { y });
            boolean plugin = "plugin".equals(s.get("family"));
            series.setMarker(plugin ? SeriesMarkers.DIAMOND : SeriesMarkers.CIRCLE);
            labels.add(new Object[] { String.valueOf(s.get("name")), x, y });
            minX = Math.min(minX, x);
            maxX = Math.max(maxX, x);
            minY = Math.min(minY, y);
            plotted++;
        }
        if (plotted == 0) {
            return;
        }
        double lowY = Math.max(0, Math.floor((minY - 0.02) * 50) / 50);
        chart.getStyler().setYAxisMin(lowY);
        chart.getStyler().setYAxisMax(1.005);
        for (Object[] label : labels) { // just above its point
            chart.addAnnotation(new AnnotationText((String) label[0], (double) label[1], (double) label[2] + (1.005 - lowY) * 0.018, false));
        }
        if (Double.isNaN(floorP50) == false) {
            chart.getStyler().setXAxisMin(Math.min(minX, floorP50) * 0.8);
            chart.getStyler().setXAxisMax(maxX * 1.25);
            XYSeries floor = chart.addSeries(String.format(Locale.ROOT, "request floor p50 %.2f ms", floorP50), new double[] { floorP50, floorP50 },
                new double[] { lowY, 1.005 });
            floor.setXYSeriesRenderStyle(XYSeries.XYSeriesRenderStyle.Line);
            floor.setMarker(SeriesMarkers.NONE);
            floor.setLineColor(Color.GRAY);
            floor.setLineStyle(new BasicStroke(1.5f, BasicStroke.CAP_BUTT, BasicStroke.JOIN_MITER, 10f, new float[] { 6f, 6f }, 0f));
        }
        BitmapEncoder.saveBitmap(chart, png.toString(), BitmapEncoder.BitmapFormat.PNG);
    }
}
