package io.turnout.support;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.HashSet;
import java.util.Set;
import org.junit.jupiter.api.Test;

class PortsTest {

    /**
     * The ports given to test servers are never given twice and, where the machine's ephemeral
     * range leaves room, never ones an outgoing connection can be given meanwhile.
     */
    @Test
    void portsComeFromOutsideTheEphemeralRangeAndAreNeverGivenTwice() throws Exception {
        int[] range = Ports.range();
        Set<Integer> given = new HashSet<>();
        for (int i = 0; i < 200; i++) {
            int port = Ports.free();
            if (range != null) assertThat(port).isBetween(range[0], range[1]);
            assertThat(given.add(port)).as("port %d given twice", port).isTrue();
        }
        if (range == null) return;
        try (ServerSocket server = new ServerSocket(0); Socket client = new Socket()) {
            client.connect(new InetSocketAddress("localhost", server.getLocalPort()));
            // an outgoing connection's own port is from the ephemeral range, which Ports never hands out
            assertThat(client.getLocalPort() < range[0] || client.getLocalPort() > range[1]).as("client port %d", client.getLocalPort()).isTrue();
        }
    }
}
