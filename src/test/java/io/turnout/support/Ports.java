package io.turnout.support;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.Set;
import java.util.concurrent.ThreadLocalRandom;

/**
 * Ports for the servers a test starts (Turnout, its embedded PostgreSQL, the Unleash server).
 *
 * <p>A port is chosen some seconds before its server binds it. A port from the kernel's ephemeral
 * range ({@code ip_local_port_range}, which {@code new ServerSocket(0)} hands out) can meanwhile
 * become the local end of any outgoing connection: the pools of the replicas already running open
 * dozens. Then the server cannot bind it, even with {@code SO_REUSEADDR}, and exits at start. So
 * ports come from below that range, where no outgoing connection is given one, are free when
 * chosen, and are never handed out twice by one suite.
 */
public final class Ports {
    private static final Set<Integer> GIVEN = new HashSet<>();
    private static final int LOWEST = 10_000;

    private Ports() {
    }

    /**
     * A port no server listens on now, outside the ephemeral range, not handed out before; where
     * that range leaves too few ports outside it, one the kernel hands out, as before.
     */
    public static synchronized int free() throws IOException {
        int[] range = range();
        if (range == null) {
            for (int i = 0; i < 100; i++) {
                try (ServerSocket s = new ServerSocket(0)) {
                    if (GIVEN.add(s.getLocalPort())) return s.getLocalPort();
                }
            }
            throw new IOException("the kernel handed out only ports given before");
        }
        int span = range[1] - range[0] + 1;
        int start = ThreadLocalRandom.current().nextInt(span);
        for (int i = 0; i < span; i++) {
            int port = range[0] + (start + i) % span;
            if (GIVEN.contains(port) || !bindable(port)) continue;
            GIVEN.add(port);
            return port;
        }
        throw new IOException("no free port in " + range[0] + ".." + range[1]);
    }

    /** The ports below the ephemeral range, or above it when too few are below; null when too few are either side. */
    static int[] range() throws IOException {
        int low = 32_768;
        int high = 60_999;
        Path file = Path.of("/proc/sys/net/ipv4/ip_local_port_range");
        if (Files.isReadable(file)) {
            // procfs reports a size of 0, so the file is read line by line, not by its size
            String[] bounds = Files.readAllLines(file).get(0).trim().split("\\s+");
            low = Integer.parseInt(bounds[0]);
            high = Integer.parseInt(bounds[1]);
        }
        if (low - LOWEST >= 1_000) return new int[] {LOWEST, low - 1};
        if (65_535 - high >= 1_000) return new int[] {high + 1, 65_535};
        return null;
    }

    private static boolean bindable(int port) {
        try (ServerSocket s = new ServerSocket()) {
            s.setReuseAddress(false);
            s.bind(new InetSocketAddress(port));
            return true;
        } catch (IOException e) {
            return false;
        }
    }
}
