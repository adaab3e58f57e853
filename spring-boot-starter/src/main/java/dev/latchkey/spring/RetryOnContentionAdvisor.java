package dev.latchkey.spring;

import org.aopalliance.aop.Advice;
import org.springframework.aop.Pointcut;
import org.springframework.aop.support.AbstractPointcutAdvisor;
import org.springframework.aop.support.ComposablePointcut;
import org.springframework.aop.support.annotation.AnnotationMatchingPointcut;

/** Applies {@link RetryOnContentionInterceptor} to methods (or classes) annotated with {@link RetryOnContention}. */
public final class RetryOnContentionAdvisor extends AbstractPointcutAdvisor {

    private final RetryOnContentionInterceptor interceptor;
    private final Pointcut pointcut = new ComposablePointcut(new AnnotationMatchingPointcut(RetryOnContention.class, true))
            .union(AnnotationMatchingPointcut.forMethodAnnotation(RetryOnContention.class));

    public RetryOnContentionAdvisor(RetryOnContentionInterceptor interceptor, int order) {
        this.interceptor = interceptor;
        setOrder(order);
    }

    @Override
    public Pointcut getPointcut() {
        return pointcut;
    }

    @Override
    public Advice getAdvice() {
        return interceptor;
    }
}
