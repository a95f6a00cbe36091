package io.turnout.flags;

import io.getunleash.event.ClientFeaturesResponse;
import io.getunleash.repository.FeatureFetcher;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import org.jboss.logging.Logger;

/**
 * Feeds the Unleash client from a file in Unleash's client features format instead of a server,
 * so an edited file takes effect at the client's next poll. A missing file means no flags (every
 * domain holds its applied stage); a file that is not valid JSON is reported and ignored, keeping
 * the flags loaded before.
 */
final class FlagFile implements FeatureFetcher {
    private static final Logger LOG = Logger.getLogger(FlagFile.class);
    private static final com.fasterxml.jackson.databind.ObjectMapper JSON = new com.fasterxml.jackson.databind.ObjectMapper();
    private static final String NO_FLAGS = "{\"version\":2,\"features\":[]}";

    private final Path file;
    private FileTime loaded;
    private boolean missing;

    FlagFile(Path file) {
        this.file = file;
    }

    @Override
    public synchronized ClientFeaturesResponse fetchFeatures() {
        try {
            if (!Files.exists(file)) {
                if (!missing) LOG.warnf("Flag file %s not found: no flags, every domain holds its applied stage", file.toAbsolutePath());
                missing = true;
                loaded = null;
                return ClientFeaturesResponse.updated(NO_FLAGS);
            }
            FileTime version = Files.getLastModifiedTime(file);
            if (!missing && version.equals(loaded)) return ClientFeaturesResponse.notChanged();
            String json = Files.readString(file);
            loaded = version;
            try {
                JSON.readTree(json);
            } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
                LOG.errorf("Flag file %s is not valid JSON (line %d, column %d); ignored, the flags loaded before stay in force",
                        file.toAbsolutePath(), e.getLocation() == null ? 0 : e.getLocation().getLineNr(),
                        e.getLocation() == null ? 0 : e.getLocation().getColumnNr());
                return ClientFeaturesResponse.notChanged();
            }
            missing = false;
            return ClientFeaturesResponse.updated(json);
        } catch (IOException e) {
            LOG.warnf("Flag file %s could not be read (%s); keeping the flags loaded before", file, e.getMessage());
            return ClientFeaturesResponse.notChanged();
        }
    }
}
