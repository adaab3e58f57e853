package dev.latchkey.toolkit.repository;

import dev.latchkey.toolkit.TableSpec;
import dev.latchkey.toolkit.Toolkit;
import dev.latchkey.toolkit.pessimistic.LockMode;
import dev.latchkey.toolkit.pessimistic.RowLocker;
import dev.latchkey.toolkit.pessimistic.WaitPolicy;
import dev.latchkey.toolkit.retry.RetryPolicy;
import dev.latchkey.toolkit.retry.Transactor;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.lang.reflect.Proxy;
import java.time.Duration;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.function.Function;

/**
 * Wraps an existing repository or DAO (through its interface) so that chosen methods run in a
 * transaction with optimistic retry, or holding row locks, with no framework.
 *
 * <pre>{@code
 * interface StockDao {
 *     @Retry(attempts = 20) boolean buy(long itemId);                 // optimistic, retried on conflict
 *     @LockRows(table = "item", key = "id") @Retry void restock(long itemId, int qty);
 * }
 * Transactor tx = toolkit.transactor(RetryPolicy.defaults());
 * StockDao dao = Repositories.wrap(StockDao.class, new JdbcStockDao(tx.dataSource()), toolkit).build();
 * }</pre>
 *
 * <p>The wrapped implementation reaches the transaction through {@link Transactor#dataSource()}:
 * inside a wrapped call it hands out the transaction's connection. Methods can also be configured
 * by name with the builder, for interfaces that cannot carry annotations.
 */
public final class Repositories {

    private Repositories() {
    }

    public static <T> Builder<T> wrap(Class<T> repositoryInterface, T target, Toolkit toolkit) {
        return new Builder<>(repositoryInterface, target, toolkit);
    }

    /** What one method is wrapped with. */
    private record MethodPlan(RetryPolicy policy, RowLocker locker, Function<Object[], Collection<?>> keys, LockMode mode,
            WaitPolicy waitPolicy) {
    }

    public static final class Builder<T> {
        private final Class<T> type;
        private final T target;
        private final Toolkit toolkit;
        private final Map<String, RetryPolicy> retries = new HashMap<>();
        private final Map<String, MethodPlan> locks = new HashMap<>();

        private Builder(Class<T> type, T target, Toolkit toolkit) {
            if (!Objects.requireNonNull(type, "repositoryInterface").isInterface()) {
                throw new IllegalArgumentException(type.getName() + " is not an interface");
            }
            this.type = type;
            this.target = Objects.requireNonNull(target, "target");
            this.toolkit = Objects.requireNonNull(toolkit, "toolkit");
        }

        /** Runs every method of this name in a transaction, retried as the policy says. */
        public Builder<T> retry(String method, RetryPolicy policy) {
            requireMethod(method);
            retries.put(method, Objects.requireNonNull(policy, "policy"));
            return this;
        }

        /** Locks the rows whose keys {@code keys} takes from the arguments, before the method runs. */
        public Builder<T> lockRows(String method, TableSpec table, Function<Object[], Collection<?>> keys, LockMode mode,
                WaitPolicy wait) {
            requireMethod(method);
            locks.put(method, new MethodPlan(null, toolkit.rowLocks(table), Objects.requireNonNull(keys, "keys"),
                    Objects.requireNonNull(mode, "mode"), Objects.requireNonNull(wait, "wait")));
            return this;
        }

        public T build() {
            Map<Method, MethodPlan> plans = new HashMap<>();
            for (Method m : type.getMethods()) {
                MethodPlan plan = plan(m);
                if (plan != null) {
                    plans.put(m, plan);
                }
            }
            Transactor transactor = toolkit.transactor(RetryPolicy.none());
            Object proxy = Proxy.newProxyInstance(type.getClassLoader(), new Class<?>[] {type}, (p, method, args) -> {
                MethodPlan plan = plans.get(method);
                if (method.getDeclaringClass() == Object.class) {
                    return switch (method.getName()) {
                        case "toString" -> "wrapped " + target;
                        case "hashCode" -> System.identityHashCode(p);
                        case "equals" -> p == args[0];
                        default -> invoke(method, args);
                    };
                }
                if (plan == null) {
                    return invoke(method, args);
                }
                return transactor.withPolicy(plan.policy()).execute(type.getSimpleName() + "." + method.getName(), c -> {
                    if (plan.locker() != null) {
                        plan.locker().lock(plan.keys().apply(args == null ? new Object[0] : args))
                                .mode(plan.mode()).waitPolicy(plan.waitPolicy()).operation(method.getName()).execute(c).orThrow();
                    }
                    return invoke(method, args);
                });
            });
            return type.cast(proxy);
        }

        private final Map<Method, Method> callable = new java.util.concurrent.ConcurrentHashMap<>();

        private Object invoke(Method method, Object[] args) throws Exception {
            Method m = callable.computeIfAbsent(method, k -> {
                if (!java.lang.reflect.Modifier.isPublic(type.getModifiers())) {
                    k.setAccessible(true); // a package-private repository interface is fine to wrap
                }
                return k;
            });
            try {
                return m.invoke(target, args);
            } catch (InvocationTargetException e) {
                Throwable cause = e.getCause();
                if (cause instanceof Exception ex) {
                    throw ex;
                }
                throw (Error) cause;
            }
        }

        private MethodPlan plan(Method m) {
            Retry retry = m.getAnnotation(Retry.class);
            LockRows lock = m.getAnnotation(LockRows.class);
            RetryPolicy policy = retries.get(m.getName());
            if (policy == null && retry != null) {
                policy = RetryPolicy.defaults().withMaxAttempts(retry.attempts())
                        .withBackoff(Duration.ofMillis(retry.initialBackoffMillis()), Duration.ofMillis(retry.maxBackoffMillis()));
            }
            MethodPlan lockPlan = locks.get(m.getName());
            if (lockPlan == null && lock != null) {
                lockPlan = fromAnnotation(m, lock);
            }
            if (policy == null && lockPlan == null) {
                return null;
            }
            RetryPolicy effective = policy == null ? RetryPolicy.none() : policy;
            return lockPlan == null ? new MethodPlan(effective, null, null, null, null)
                    : new MethodPlan(effective, lockPlan.locker(), lockPlan.keys(), lockPlan.mode(), lockPlan.waitPolicy());
        }

        private MethodPlan fromAnnotation(Method m, LockRows lock) {
            int index = lock.keyArgument();
            if (index < 0 || index >= m.getParameterCount()) {
                throw new IllegalArgumentException("@LockRows on " + m + " names argument " + index + ", which it does not have");
            }
            WaitPolicy wait = switch (lock.waitPolicy()) {
                case DATABASE_DEFAULT -> WaitPolicy.databaseDefault();
                case NO_WAIT -> WaitPolicy.noWait();
                case AT_MOST -> WaitPolicy.atMost(Duration.ofMillis(lock.waitMillis()));
            };
            RowLocker locker = toolkit.rowLocks(TableSpec.table(lock.table()).key(lock.key()));
            Function<Object[], Collection<?>> keys = args -> args[index] instanceof Collection<?> c ? c : List.of(args[index]);
            return new MethodPlan(null, locker, keys, lock.mode(), wait);
        }

        private void requireMethod(String name) {
            for (Method m : type.getMethods()) {
                if (m.getName().equals(name)) {
                    return;
                }
            }
            throw new IllegalArgumentException(type.getName() + " has no method '" + name + "'");
        }
    }
}
