package dev.latchkey.spring;

import dev.latchkey.toolkit.retry.RetryPolicy;
import java.util.Map;
import java.util.TreeMap;

/** The named retry policies of {@code latchkey.retry.policies.*}; "default" is always there. */
public final class RetryPolicies {

    public static final String DEFAULT = "default";

    private final Map<String, RetryPolicy> policies;

    public RetryPolicies(Map<String, RetryPolicy> policies) {
        Map<String, RetryPolicy> all = new TreeMap<>(policies);
        all.putIfAbsent(DEFAULT, RetryPolicy.defaults());
        this.policies = Map.copyOf(all);
    }

    /** The policy with this name; a name nobody configured is a mistake, reported with the names that exist. */
    public RetryPolicy get(String name) {
        RetryPolicy policy = policies.get(name);
        if (policy == null) {
            throw new IllegalArgumentException("no retry policy named '" + name + "' (configured: "
                    + new TreeMap<>(policies).keySet() + "; add latchkey.retry.policies." + name + ".*)");
        }
        return policy;
    }

    public Map<String, RetryPolicy> all() {
        return policies;
    }
}
