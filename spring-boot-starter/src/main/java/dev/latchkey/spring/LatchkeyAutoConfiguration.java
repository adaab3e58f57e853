package dev.latchkey.spring;

import dev.latchkey.toolkit.Toolkit;
import dev.latchkey.toolkit.jpa.JpaToolkit;
import dev.latchkey.toolkit.metrics.ToolkitMetrics;
import dev.latchkey.toolkit.metrics.micrometer.MicrometerToolkitMetrics;
import dev.latchkey.toolkit.retry.RetryPolicy;
import dev.latchkey.toolkit.retry.Transactor;
import io.micrometer.core.instrument.MeterRegistry;
import jakarta.persistence.EntityManagerFactory;
import java.util.LinkedHashMap;
import java.util.Map;
import javax.sql.DataSource;
import org.springframework.beans.factory.ObjectProvider;
import org.springframework.beans.factory.config.BeanDefinition;
import org.springframework.boot.autoconfigure.AutoConfiguration;
import org.springframework.boot.autoconfigure.condition.ConditionalOnBean;
import org.springframework.boot.autoconfigure.condition.ConditionalOnBooleanProperty;
import org.springframework.boot.autoconfigure.condition.ConditionalOnClass;
import org.springframework.boot.autoconfigure.condition.ConditionalOnMissingBean;
import org.springframework.boot.autoconfigure.condition.ConditionalOnSingleCandidate;
import org.springframework.boot.context.properties.EnableConfigurationProperties;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.context.annotation.Role;

/**
 * Latchkey's toolkit on the application's primary DataSource (and EntityManagerFactory, when JPA is
 * there): a {@link Toolkit}, a {@link Transactor}, a {@link JpaToolkit}, the named retry policies,
 * metrics to Micrometer, and the {@link RetryOnContention} advice ordered outside
 * {@code @Transactional}. {@code latchkey.enabled=false} turns all of it off; any bean defined by
 * the application replaces the one here.
 */
@AutoConfiguration(afterName = {
        "org.springframework.boot.jdbc.autoconfigure.DataSourceAutoConfiguration",
        "org.springframework.boot.hibernate.autoconfigure.HibernateJpaAutoConfiguration",
        "org.springframework.boot.micrometer.metrics.autoconfigure.CompositeMeterRegistryAutoConfiguration",
        "org.springframework.boot.micrometer.metrics.autoconfigure.MetricsAutoConfiguration"})
@ConditionalOnBooleanProperty(name = "latchkey.enabled", matchIfMissing = true)
@EnableConfigurationProperties(LatchkeyProperties.class)
public class LatchkeyAutoConfiguration {

    @Bean
    @ConditionalOnMissingBean
    public RetryPolicies latchkeyRetryPolicies(LatchkeyProperties properties) {
        Map<String, RetryPolicy> policies = new LinkedHashMap<>();
        properties.getRetry().getPolicies().forEach((name, policy) -> {
            try {
                policies.put(name, policy.toPolicy());
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("latchkey.retry.policies." + name + ": " + e.getMessage(), e);
            }
        });
        return new RetryPolicies(policies);
    }

    @Bean
    @ConditionalOnMissingBean
    public ToolkitMetrics latchkeyToolkitMetrics(ObjectProvider<MeterRegistryHolder> registry) {
        MeterRegistryHolder holder = registry.getIfAvailable();
        return holder == null ? ToolkitMetrics.NONE : holder.metrics();
    }

    @Bean
    @ConditionalOnMissingBean
    @ConditionalOnSingleCandidate(DataSource.class)
    public Toolkit latchkeyToolkit(DataSource dataSource, ToolkitMetrics metrics) {
        return Toolkit.create(dataSource, metrics);
    }

    @Bean
    @ConditionalOnMissingBean
    @ConditionalOnBean(Toolkit.class)
    public Transactor latchkeyTransactor(Toolkit toolkit, RetryPolicies policies) {
        return toolkit.transactor(policies.get(RetryPolicies.DEFAULT));
    }

    /** Found by the auto-proxy creator that @EnableTransactionManagement registers, which applies infrastructure advisors. */
    @Bean
    @Role(BeanDefinition.ROLE_INFRASTRUCTURE)
    @ConditionalOnMissingBean
    public static RetryOnContentionAdvisor latchkeyRetryOnContentionAdvisor(ObjectProvider<RetryPolicies> policies,
            ObjectProvider<ToolkitMetrics> metrics, org.springframework.core.env.Environment environment) {
        int order = environment.getProperty("latchkey.retry.advisor-order", Integer.class,
                new LatchkeyProperties.Retry().getAdvisorOrder());
        return new RetryOnContentionAdvisor(new RetryOnContentionInterceptor(policies::getObject,
                () -> metrics.getIfAvailable(() -> ToolkitMetrics.NONE)), order);
    }

    @Configuration(proxyBeanMethods = false)
    @ConditionalOnClass(MeterRegistry.class)
    static class MicrometerConfiguration {

        @Bean
        @ConditionalOnBean(MeterRegistry.class)
        MeterRegistryHolder latchkeyMeterRegistryHolder(MeterRegistry registry) {
            return new MeterRegistryHolder(registry);
        }
    }

    /** Keeps Micrometer's types out of the outer configuration's signatures, so it loads without Micrometer. */
    static final class MeterRegistryHolder {
        private final Object registry;

        MeterRegistryHolder(Object registry) {
            this.registry = registry;
        }

        ToolkitMetrics metrics() {
            return new MicrometerToolkitMetrics((MeterRegistry) registry);
        }
    }

    @Configuration(proxyBeanMethods = false)
    @ConditionalOnClass({EntityManagerFactory.class, JpaToolkit.class, org.hibernate.SessionFactory.class})
    static class JpaConfiguration {

        @Bean
        @ConditionalOnMissingBean
        @ConditionalOnSingleCandidate(EntityManagerFactory.class)
        JpaToolkit latchkeyJpaToolkit(EntityManagerFactory emf, ObjectProvider<DataSource> dataSource, ToolkitMetrics metrics) {
            DataSource ds = dataSource.getIfUnique();
            return ds == null ? JpaToolkit.create(emf, metrics) : JpaToolkit.create(emf, ds, metrics);
        }
    }
}
