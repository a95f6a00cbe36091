package io.turnout.support;

import com.github.tomakehurst.wiremock.WireMockServer;
import com.github.tomakehurst.wiremock.core.WireMockConfiguration;

/** The third-party search service (Connectra-style) the contacts and companies domains read from, played by WireMock. */
public final class SearchService {
    private static WireMockServer server;

    private SearchService() {}

    /** The running server, started on a free port the first time. */
    public static synchronized WireMockServer server() {
        if (server == null) {
            server = new WireMockServer(WireMockConfiguration.options().dynamicPort().containerThreads(16));
            server.start();
        }
        return server;
    }

    public static String url() {
        return "http://localhost:" + server().port();
    }
}
