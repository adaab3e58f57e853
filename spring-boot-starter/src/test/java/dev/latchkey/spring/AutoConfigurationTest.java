package dev.latchkey.spring;

import static org.assertj.core.api.Assertions.assertThat;

import dev.latchkey.spring.app.Checkout;
import dev.latchkey.testing.DatabaseTest;
import dev.latchkey.testing.TestDatabase;
import dev.latchkey.toolkit.Toolkit;
import dev.latchkey.toolkit.dialect.DatabaseKind;
import dev.latchkey.toolkit.jpa.JpaToolkit;
import dev.latchkey.toolkit.metrics.ToolkitMetrics;
import dev.latchkey.toolkit.metrics.micrometer.MicrometerToolkitMetrics;
import dev.latchkey.toolkit.retry.RetryPolicy;
import dev.latchkey.toolkit.retry.Transactor;
import io.micrometer.core.instrument.MeterRegistry;
import java.util.Map;
import org.springframework.boot.autoconfigure.AutoConfigurations;
import org.springframework.boot.jdbc.autoconfigure.DataSourceAutoConfiguration;
import org.springframework.boot.test.context.FilteredClassLoader;
import org.springframework.boot.test.context.runner.ApplicationContextRunner;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;

class AutoConfigurationTest {

    @DatabaseTest
    void theToolkitBeansStandOnThePrimaryDataSourceAndEntityManagerFactory(TestDatabase db) throws Exception {
        Shop.on(db, 1).run(context -> {
            assertThat(context).hasSingleBean(Toolkit.class).hasSingleBean(Transactor.class).hasSingleBean(JpaToolkit.class)
                    .hasSingleBean(RetryPolicies.class).hasSingleBean(RetryOnContentionAdvisor.class);
            DatabaseKind expected = switch (db.database()) {
                case POSTGRESQL -> DatabaseKind.POSTGRES;
                case MARIADB -> DatabaseKind.MARIADB;
                case MYSQL -> DatabaseKind.MYSQL;
                case H2 -> DatabaseKind.H2;
            };
            assertThat(context.getBean(Toolkit.class).database()).isEqualTo(expected);
            assertThat(context.getBean(JpaToolkit.class).database()).isEqualTo(expected);
            assertThat(context.getBean(ToolkitMetrics.class)).isInstanceOf(MicrometerToolkitMetrics.class);
            RetryPolicies policies = context.getBean(RetryPolicies.class);
            assertThat(policies.get("default")).isEqualTo(RetryPolicy.defaults());
            assertThat(policies.get("checkout").maxAttempts()).isEqualTo(500);
            assertThat(context.getBean(Transactor.class).policy()).isEqualTo(RetryPolicy.defaults());
        });
    }

    @DatabaseTest
    void retriesAreCountedInMicrometerTaggedByOperationAndKind(TestDatabase db) throws Exception {
        Shop.on(db, 1).run(context -> {
            Checkout checkout = context.getBean(Checkout.class);
            checkout.behindTheBack(() -> Shop.bumpBehindTheBack(db, 1));
            checkout.increment(1L);
            MeterRegistry meters = context.getBean(MeterRegistry.class);
            assertThat(meters.get("latchkey.attempts").tag("operation", "Checkout.increment").counter().count()).isEqualTo(2);
            assertThat(meters.get("latchkey.retries").tags("operation", "Checkout.increment", "kind", "conflict").counter().count())
                    .isEqualTo(1);
            assertThat(meters.get("latchkey.contention").tags("operation", "Checkout.increment", "kind", "conflict").counter().count())
                    .isEqualTo(1);
        });
    }

    @DatabaseTest
    void latchkeyEnabledFalseBacksOffEntirely(TestDatabase db) throws Exception {
        Shop.on(db, 1).withPropertyValues("latchkey.enabled=false").run(context -> {
            assertThat(context).hasNotFailed().doesNotHaveBean(Toolkit.class).doesNotHaveBean(Transactor.class)
                    .doesNotHaveBean(JpaToolkit.class).doesNotHaveBean(RetryPolicies.class)
                    .doesNotHaveBean(RetryOnContentionAdvisor.class);
            Checkout checkout = context.getBean(Checkout.class);
            checkout.behindTheBack(() -> Shop.bumpBehindTheBack(db, 1));
            assertThat(org.assertj.core.api.Assertions.catchThrowable(() -> checkout.increment(1L)))
                    .as("without the advice nobody retries").isNotNull();
            assertThat(checkout.runs()).hasValue(1);
            var items = context.getBean(dev.latchkey.spring.app.ItemRepository.class);
            assertThat(org.assertj.core.api.Assertions.catchThrowable(() -> items.lockById(1L, java.time.Duration.ZERO)))
                    .hasMessageContaining("latchkey.enabled is false");
        });
    }

    @Configuration(proxyBeanMethods = false)
    static class OwnBeans {
        static final RetryPolicies POLICIES = new RetryPolicies(Map.of("default", RetryPolicy.none()));

        @Bean
        RetryPolicies myPolicies() {
            return POLICIES;
        }
    }

    @DatabaseTest
    void theApplicationsOwnBeansReplaceOurs(TestDatabase db) throws Exception {
        Shop.on(db, 1).withUserConfiguration(OwnBeans.class).run(context -> {
            assertThat(context.getBean(RetryPolicies.class)).isSameAs(OwnBeans.POLICIES);
            assertThat(context.getBean(Transactor.class).policy()).isEqualTo(RetryPolicy.none());
        });
    }

    @DatabaseTest
    void withoutJpaOrMicrometerOnTheClassPathOnlyThoseBeansBackOff(TestDatabase db) throws Exception {
        new ApplicationContextRunner()
                .withConfiguration(AutoConfigurations.of(DataSourceAutoConfiguration.class, LatchkeyAutoConfiguration.class))
                .withClassLoader(new FilteredClassLoader(org.hibernate.SessionFactory.class, MeterRegistry.class))
                .withPropertyValues("spring.datasource.url=" + db.jdbcUrl(), "spring.datasource.username=" + db.user(),
                        "spring.datasource.password=" + (db.password() == null ? "" : db.password()))
                .run(context -> {
                    assertThat(context).hasNotFailed().hasSingleBean(Toolkit.class).hasSingleBean(Transactor.class)
                            .doesNotHaveBean(JpaToolkit.class);
                    assertThat(context.getBean(ToolkitMetrics.class)).isSameAs(ToolkitMetrics.NONE);
                });
    }

    @org.junit.jupiter.api.Test
    void thePropertiesComeWithConfigurationMetadataForIdes() throws Exception {
        try (var in = getClass().getResourceAsStream("/META-INF/spring-configuration-metadata.json")) {
            assertThat(in).as("generated by spring-boot-configuration-processor").isNotNull();
            String metadata = new String(in.readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
            assertThat(metadata).contains("\"latchkey.enabled\"", "\"latchkey.retry.policies\"", "\"latchkey.retry.advisor-order\"");
        }
    }

    @DatabaseTest
    void aPolicyThatMakesNoSenseStopsStartUpNamingTheProperty(TestDatabase db) throws Exception {
        Shop.on(db, 1).withPropertyValues("latchkey.retry.policies.broken.max-attempts=0").run(context -> {
            assertThat(context).hasFailed();
            assertThat(context.getStartupFailure()).rootCause().hasMessageContaining("maxAttempts must be at least 1");
            assertThat(context.getStartupFailure()).hasStackTraceContaining("latchkey.retry.policies.broken");
        });
    }
}
