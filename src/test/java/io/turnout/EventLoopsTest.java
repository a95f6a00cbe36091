package io.turnout;

import static org.assertj.core.api.Assertions.assertThat;

import io.quarkus.test.junit.QuarkusTest;
import io.smallrye.config.PropertiesConfigSource;
import io.smallrye.config.SmallRyeConfig;
import io.smallrye.config.SmallRyeConfigBuilder;
import io.vertx.core.Vertx;
import jakarta.inject.Inject;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.eclipse.microprofile.config.ConfigProvider;
import org.junit.jupiter.api.Test;

/** Turnout runs one event loop per processor unless configured otherwise. */
@QuarkusTest
class EventLoopsTest {
    @Inject
    Vertx vertx;

    @Test
    void theApplicationRunsOneEventLoopPerProcessor() throws Exception {
        int processors = Runtime.getRuntime().availableProcessors();
        assertThat(ConfigProvider.getConfig().getValue(EventLoops.PROPERTY, Integer.class)).isEqualTo(processors);
        // contexts are handed out round-robin over the loops: more contexts than loops show every loop
        Set<String> loops = ConcurrentHashMap.newKeySet();
        int contexts = processors * 8;
        CountDownLatch seen = new CountDownLatch(contexts);
        for (int i = 0; i < contexts; i++) {
            ((io.vertx.core.impl.VertxInternal) vertx).createEventLoopContext().runOnContext(v -> {
                loops.add(Thread.currentThread().getName());
                seen.countDown();
            });
        }
        assertThat(seen.await(10, TimeUnit.SECONDS)).isTrue();
        assertThat(loops).hasSize(processors).allMatch(n -> n.startsWith("vert.x-eventloop-thread-"));
    }

    @Test
    void theEventLoopsUseEpollOnLinux() {
        // the image and the machines Turnout runs on are Linux on x86-64, where the epoll transport is bundled
        assertThat(System.getProperty("os.name")).isEqualTo("Linux");
        assertThat(vertx.isNativeTransportEnabled()).as("epoll transport (%s)", vertx.unavailableNativeTransportCause()).isTrue();
    }

    @Test
    void aSettingAnywhereElseWins() {
        SmallRyeConfig config = new SmallRyeConfigBuilder().withSources(new EventLoops(),
                new PropertiesConfigSource(Map.of(EventLoops.PROPERTY, "7"), "environment", 300)).build();
        assertThat(config.getValue(EventLoops.PROPERTY, Integer.class)).isEqualTo(7);
        SmallRyeConfig alone = new SmallRyeConfigBuilder().withSources(new EventLoops()).build();
        assertThat(alone.getValue(EventLoops.PROPERTY, Integer.class)).isEqualTo(Runtime.getRuntime().availableProcessors());
    }
}
