package io.turnout.support;

import io.quarkus.test.junit.callback.QuarkusTestBeforeEachCallback;
import io.quarkus.test.junit.callback.QuarkusTestMethodContext;

/** Every {@code @QuarkusTest} calls Turnout with the suite's key unless a request sets its own. */
public class SuiteKeyCallback implements QuarkusTestBeforeEachCallback {
    @Override
    public void beforeEach(QuarkusTestMethodContext context) {
        TestKeys.sendByDefault(TestKeys.SUITE);
    }
}
