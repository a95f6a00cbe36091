package io.turnout.support;

import io.quarkus.test.common.QuarkusTestResource;

/** Registers the shared test environment for every Quarkus test in the suite. */
@QuarkusTestResource(TestEnvironment.class)
public final class GlobalResources {
    private GlobalResources() {}
}
