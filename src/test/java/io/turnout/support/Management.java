package io.turnout.support;

import io.restassured.RestAssured;
import io.restassured.specification.RequestSpecification;

/** Requests to Turnout's management port ({@code /q/health}, {@code /q/metrics}) of the Turnout under test. */
public final class Management {
    /** Set by the test environment and by {@link TurnoutProcess#start()}: the port of the Turnout tests talk to. */
    static final String PORT = "turnout-tests.management-port";

    private Management() {}

    public static RequestSpecification given() {
        return RestAssured.given().port(port());
    }

    public static int port() {
        Integer p = Integer.getInteger(PORT);
        if (p == null) throw new IllegalStateException("no Turnout under test has a management port yet");
        return p;
    }
}
