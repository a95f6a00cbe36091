package io.turnout.support;

/** Reads one sample from Turnout's Prometheus endpoint. */
public final class Metrics {
    private Metrics() {}

    /** The value of the first sample of {@code name} carrying the label, or -1 when there is none. */
    public static double value(String name, String label, String labelValue) {
        return sum(name, label + "=\"" + labelValue + "\"");
    }

    /** Sum of the samples of {@code name} whose labels contain every given {@code key="value"} pair. */
    public static double sum(String name, String... labels) {
        String text = Management.given().get("/q/metrics").asString();
        double total = 0;
        boolean found = false;
        for (String line : text.split("\n")) {
            if (!line.startsWith(name + "{") && !line.startsWith(name + " ")) continue;
            boolean all = true;
            for (String l : labels) all &= line.contains(l);
            if (!all) continue;
            total += Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1));
            found = true;
        }
        return found ? total : -1;
    }
}
