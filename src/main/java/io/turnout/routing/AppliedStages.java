package io.turnout.routing;

import jakarta.inject.Singleton;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The stage each domain is routed by right now, in this process. Only stage control changes it
 * (see {@code io.turnout.control.StageControl}); everything that routes or copies reads it here.
 * A domain with no stage recorded yet is at {@code legacy}.
 */
@Singleton
public class AppliedStages {
    private final Map<String, Stage> stages = new ConcurrentHashMap<>();

    public Stage get(String domain) {
        return stages.getOrDefault(domain, Stage.LEGACY);
    }

    /** Sets the stage routing follows; returns the one before. */
    public Stage set(String domain, Stage stage) {
        Stage before = stages.put(domain, stage);
        return before == null ? Stage.LEGACY : before;
    }
}
