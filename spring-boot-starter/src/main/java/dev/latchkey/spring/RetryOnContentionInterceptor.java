package dev.latchkey.spring;

import dev.latchkey.toolkit.metrics.ToolkitMetrics;
import dev.latchkey.toolkit.retry.RetryLoop;
import java.lang.reflect.Method;
import java.util.function.Supplier;
import org.aopalliance.intercept.MethodInterceptor;
import org.aopalliance.intercept.MethodInvocation;
import org.springframework.aop.ProxyMethodInvocation;
import org.springframework.aop.support.AopUtils;
import org.springframework.core.annotation.AnnotatedElementUtils;
import org.springframework.transaction.support.TransactionSynchronizationManager;

/**
 * The advice behind {@link RetryOnContention}: checks that no transaction is active yet, then runs
 * the rest of the chain (the transaction advice and the method) once per attempt with the toolkit's
 * {@link RetryLoop}.
 */
public final class RetryOnContentionInterceptor implements MethodInterceptor {

    private final Supplier<RetryPolicies> policies;
    private final Supplier<ToolkitMetrics> metrics;

    public RetryOnContentionInterceptor(Supplier<RetryPolicies> policies, Supplier<ToolkitMetrics> metrics) {
        this.policies = policies;
        this.metrics = metrics;
    }

    @Override
    public Object invoke(MethodInvocation invocation) throws Throwable {
        Class<?> targetClass = invocation.getThis() == null ? invocation.getMethod().getDeclaringClass()
                : AopUtils.getTargetClass(invocation.getThis());
        Method method = AopUtils.getMostSpecificMethod(invocation.getMethod(), targetClass);
        RetryOnContention settings = AnnotatedElementUtils.findMergedAnnotation(method, RetryOnContention.class);
        if (settings == null) {
            settings = AnnotatedElementUtils.findMergedAnnotation(targetClass, RetryOnContention.class);
        }
        if (settings == null) {
            return invocation.proceed();
        }
        String operation = settings.operation().isEmpty() ? targetClass.getSimpleName() + "." + method.getName() : settings.operation();
        if (TransactionSynchronizationManager.isActualTransactionActive()) {
            if (settings.join()) {
                return invocation.proceed();
            }
            throw new RetryInsideTransactionException("@RetryOnContention " + operation + " was entered inside an active "
                    + "transaction: a retry there would repeat the work in a transaction the failure has marked rollback-only. "
                    + "Call it from outside the transaction (each attempt then gets its own), or set join = true to run once "
                    + "in the caller's transaction and let the caller retry");
        }
        if (!(invocation instanceof ProxyMethodInvocation proxied)) {
            throw new IllegalStateException("@RetryOnContention needs a Spring AOP proxy invocation, not " + invocation.getClass());
        }
        RetryLoop loop = new RetryLoop(policies.get().get(settings.policy()), metrics.get());
        return loop.run(operation, attempt -> {
            try {
                return proxied.invocableClone().proceed();
            } catch (Exception | Error e) {
                throw e;
            } catch (Throwable t) {
                throw new IllegalStateException(t);
            }
        });
    }
}
