package io.turnout.control;

import java.util.Map;

/**
 * One condition of a stage step: whether it passes, why in a sentence, and the evidence it was
 * judged on (run ids, row counts, mismatch rate, outbox depth).
 */
public record Gate(String name, boolean pass, String why, Map<String, Object> evidence) {

    static Gate pass(String name, String why, Map<String, Object> evidence) {
        return new Gate(name, true, why, evidence);
    }

    static Gate fail(String name, String why, Map<String, Object> evidence) {
        return new Gate(name, false, why, evidence);
    }
}
