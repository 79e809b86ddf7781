package io.matryoshka.it.bench;

import java.io.PrintStream;
import java.util.concurrent.atomic.AtomicLong;

/** A text progress bar on stderr ({@code \r}-redrawn, at most 5 times a second), thread-safe. */
final class Progress implements AutoCloseable {

    private static final PrintStream OUT = System.err;
    private static final int WIDTH = 30;

    private final String label;
    private final long total;
    private final AtomicLong done = new AtomicLong();
    private final long start = System.nanoTime();
    private volatile long lastDraw;

    Progress(String label, long total) {
        this.label = label;
        this.total = Math.max(1, total);
        draw(0, true);
    }

    void add(long n) {
        long now = done.addAndGet(n);
        long t = System.nanoTime();
        if (t - lastDraw > 200_000_000L) {
            synchronized (this) {
                if (t - lastDraw > 200_000_000L) {
                    lastDraw = t;
                    draw(now, false);
                }
            }
        }
    }

    void step() {
        add(1);
    }

    private void draw(long now, boolean first) {
        double fraction = Math.min(1, (double) now / total);
        int filled = (int) Math.round(fraction * WIDTH);
        double seconds = (System.nanoTime() - start) / 1e9;
        double rate = seconds > 0 ? now / seconds : 0;
        String eta = rate > 0 && now < total ? String.format(" eta %.0fs", (total - now) / rate) : "";
        OUT.printf("\r  %-34s [%s%s] %d/%d %3.0f%% %.0f/s %.1fs%s   ", label, "#".repeat(filled), ".".repeat(WIDTH - filled), now, total,
            fraction * 100, rate, seconds, eta);
        OUT.flush();
    }

    @Override
    public synchronized void close() {
        draw(done.get(), false);
        OUT.println();
    }
}
