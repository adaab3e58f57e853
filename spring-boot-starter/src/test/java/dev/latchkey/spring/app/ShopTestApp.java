package dev.latchkey.spring.app;

import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import org.springframework.boot.autoconfigure.AutoConfigurationPackage;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.data.jpa.repository.config.EnableJpaRepositories;
import org.springframework.resilience.annotation.EnableResilientMethods;

/** A small Spring Data JPA application, as a user would write it. */
@Configuration(proxyBeanMethods = false)
@AutoConfigurationPackage
@EnableJpaRepositories(basePackageClasses = ItemRepository.class)
@EnableResilientMethods
public class ShopTestApp {

    @Bean
    MeterRegistry meterRegistry() {
        return new SimpleMeterRegistry();
    }

    @Bean
    Checkout checkout() {
        return new Checkout();
    }

    @Bean
    Outer outer(Checkout checkout) {
        return new Outer(checkout);
    }
}
