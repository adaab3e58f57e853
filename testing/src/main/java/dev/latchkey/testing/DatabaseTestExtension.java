package dev.latchkey.testing;

import java.util.Arrays;
import java.util.EnumSet;
import java.util.List;
import java.util.Set;
import java.util.stream.Stream;
import org.junit.jupiter.api.extension.AfterEachCallback;
import org.junit.jupiter.api.extension.ConditionEvaluationResult;
import org.junit.jupiter.api.extension.ExecutionCondition;
import org.junit.jupiter.api.extension.Extension;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.junit.jupiter.api.extension.ParameterContext;
import org.junit.jupiter.api.extension.ParameterResolutionException;
import org.junit.jupiter.api.extension.ParameterResolver;
import org.junit.jupiter.api.extension.TestTemplateInvocationContext;
import org.junit.jupiter.api.extension.TestTemplateInvocationContextProvider;

/** Expands a {@link DatabaseTest} into one invocation per database. */
public final class DatabaseTestExtension implements TestTemplateInvocationContextProvider {

    private static final ExtensionContext.Namespace NAMESPACE = ExtensionContext.Namespace.create(DatabaseTestExtension.class);

    @Override
    public boolean supportsTestTemplate(ExtensionContext context) {
        return context.getTestMethod().map(m -> m.isAnnotationPresent(DatabaseTest.class)
                || Arrays.stream(m.getAnnotations()).anyMatch(a -> a.annotationType().isAnnotationPresent(DatabaseTest.class)))
                .orElse(false);
    }

    /** A test limited to databases that LATCHKEY_TEST_DATABASES leaves out simply does not run. */
    @Override
    public boolean mayReturnZeroTestTemplateInvocationContexts(ExtensionContext context) {
        return true;
    }

    @Override
    public Stream<TestTemplateInvocationContext> provideTestTemplateInvocationContexts(ExtensionContext context) {
        TestSettings settings = TestSettings.fromEnvironment();
        Set<Database> only = only(context);
        return databases(settings).stream()
                .filter(only::contains)
                .map(d -> new Invocation(d, settings));
    }

    static List<Database> databases(TestSettings settings) {
        Set<Database> requested = settings.requestedDatabases();
        return TestSettings.defaultOrder().stream()
                .filter(d -> requested != null ? requested.contains(d)
                        : d != Database.MYSQL || settings.configured(d) != null || Servers.dockerAvailable())
                .toList();
    }

    private static Set<Database> only(ExtensionContext context) {
        DatabaseTest annotation = context.getRequiredTestMethod().getAnnotation(DatabaseTest.class);
        if (annotation == null || annotation.only().length == 0) {
            return EnumSet.allOf(Database.class);
        }
        return EnumSet.copyOf(Arrays.asList(annotation.only()));
    }

    private record Invocation(Database database, TestSettings settings) implements TestTemplateInvocationContext {

        /** Surefire reports this after the method's name: {@code lastItem(TestDatabase) [MariaDB]}. */
        @Override
        public String getDisplayName(int invocationIndex) {
            return "[" + database.displayName() + "]";
        }

        @Override
        public List<Extension> getAdditionalExtensions() {
            return List.of(new PerDatabase(database, settings));
        }
    }

    /** Skips or fails an unreachable database, creates the fresh database on demand and drops it after. */
    private record PerDatabase(Database database, TestSettings settings)
            implements ExecutionCondition, ParameterResolver, AfterEachCallback {

        @Override
        public ConditionEvaluationResult evaluateExecutionCondition(ExtensionContext context) {
            if (context.getTestMethod().isEmpty()) {
                return ConditionEvaluationResult.enabled("container");
            }
            if (Servers.server(database, settings) instanceof Servers.Unreachable u && !settings.ci()) {
                return ConditionEvaluationResult.disabled(
                        database.displayName() + " skipped: " + u.reason() + " (under CI=true this fails)");
            }
            return ConditionEvaluationResult.enabled(database.displayName() + " is available");
        }

        @Override
        public boolean supportsParameter(ParameterContext parameterContext, ExtensionContext extensionContext) {
            return parameterContext.getParameter().getType() == TestDatabase.class;
        }

        @Override
        public Object resolveParameter(ParameterContext parameterContext, ExtensionContext context) {
            // One database per test run, shared by @BeforeEach methods and the test itself.
            ExtensionContext.Store methodStore = methodLevel(context).getStore(NAMESPACE);
            TestDatabase existing = methodStore.get(database, TestDatabase.class);
            if (existing != null) {
                return existing;
            }
            Servers.Server server = Servers.server(database, settings);
            if (server instanceof Servers.Unreachable u) {
                throw new ParameterResolutionException(database.displayName() + " is unreachable and CI=true requires it: "
                        + u.reason());
            }
            TestDatabase db = Servers.provision((Servers.Reachable) server);
            methodStore.put(database, db);
            return db;
        }

        @Override
        public void afterEach(ExtensionContext context) {
            TestDatabase db = methodLevel(context).getStore(NAMESPACE).remove(database, TestDatabase.class);
            if (db != null) {
                db.close();
            }
        }

        private static ExtensionContext methodLevel(ExtensionContext context) {
            ExtensionContext c = context;
            while (c.getTestMethod().isEmpty() && c.getParent().isPresent()) {
                c = c.getParent().get();
            }
            return c;
        }
    }
}
