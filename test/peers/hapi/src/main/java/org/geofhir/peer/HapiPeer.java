package org.geofhir.peer;

import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import org.springframework.boot.SpringApplication;
import org.springframework.boot.autoconfigure.SpringBootApplication;
import org.springframework.boot.autoconfigure.elasticsearch.ElasticsearchRestClientAutoConfiguration;
import org.springframework.boot.autoconfigure.quartz.QuartzAutoConfiguration;
import org.springframework.boot.autoconfigure.thymeleaf.ThymeleafAutoConfiguration;
import org.springframework.boot.web.context.WebServerInitializedEvent;
import org.springframework.context.ConfigurableApplicationContext;

/**
 * The project's HAPI FHIR R4 JPA test peer. One server, two bases on the same store:
 * /fhir/ is open (the FHIR Information Gateway in front, as OpenSRP deploys it) and /oauth/fhir/ wants a
 * bearer token from the issuer, its audience that base (GPR's "integration via OAuth").
 *
 * <pre>java … org.geofhir.peer.HapiPeer --port N --db JDBC-URL [--issuer URL]</pre>
 *
 * Port 0 is ephemeral. Without --db the store is H2 in memory. When ready it prints one line with the open
 * base, the OAuth base, its start-up time and memory.
 */
@SpringBootApplication(
		exclude = {
			ThymeleafAutoConfiguration.class,
			QuartzAutoConfiguration.class,
			ElasticsearchRestClientAutoConfiguration.class
		})
public class HapiPeer {

	public static void main(String[] args) throws Exception {
		Map<String, String> opts = options(args);
		String db = opts.getOrDefault("db", "jdbc:h2:mem:hapi");
		boolean postgres = db.startsWith("jdbc:postgresql:");

		SpringApplication app = new SpringApplication(HapiPeer.class);
		Map<String, Object> props = new HashMap<>();
		props.put("server.address", "127.0.0.1");
		props.put("server.port", opts.getOrDefault("port", "0"));
		props.put("server.tomcat.relaxed-query-chars", "|");
		props.put("spring.main.banner-mode", "off");
		props.put("spring.flyway.enabled", "false");
		props.put("spring.main.allow-circular-references", "true"); // HAPI's beans need it, as in its starter
		props.put("spring.datasource.url", db);
		props.put("spring.datasource.username", postgres ? "postgres" : "sa");
		props.put("spring.datasource.password", "");
		props.put("spring.datasource.hikari.maximum-pool-size", "10");
		props.put(
				"spring.jpa.properties.hibernate.dialect",
				postgres
						? "ca.uhn.fhir.jpa.model.dialect.HapiFhirPostgresDialect"
						: "ca.uhn.fhir.jpa.model.dialect.HapiFhirH2Dialect");
		props.put("peer.issuer", opts.getOrDefault("issuer", ""));
		props.put("peer.store", postgres ? "PostgreSQL" : "H2");
		app.setDefaultProperties(props);
		app.addListeners((WebServerInitializedEvent e) -> BearerCheck.setPort(e.getWebServer().getPort()));

		ConfigurableApplicationContext ctx = app.run();
		int port = ctx.getEnvironment().getProperty("local.server.port", Integer.class, 0);
		long startedMs = ManagementFactory.getRuntimeMXBean().getUptime();
		Runtime rt = Runtime.getRuntime();
		long heapMb = (rt.totalMemory() - rt.freeMemory()) >> 20;
		System.out.printf(
				"HAPI FHIR %s on %s: http://127.0.0.1:%d/fhir/ (open), http://127.0.0.1:%d/oauth/fhir/ (OAuth), started in %.1f s, heap %d MB of %d MB, RSS %s%n",
				ca.uhn.fhir.util.VersionUtil.getVersion(),
				postgres ? "PostgreSQL" : "H2",
				port,
				port,
				startedMs / 1000.0,
				heapMb,
				rt.maxMemory() >> 20,
				rss());
	}

	private static Map<String, String> options(String[] args) {
		Map<String, String> out = new HashMap<>();
		for (int i = 0; i + 1 < args.length; i += 2) {
			if (!args[i].startsWith("--")) throw new IllegalArgumentException("unexpected argument " + args[i]);
			out.put(args[i].substring(2), args[i + 1]);
		}
		return out;
	}

	private static String rss() {
		try {
			return Files.readAllLines(Path.of("/proc/self/status")).stream()
					.filter(l -> l.startsWith("VmRSS:"))
					.map(l -> (Long.parseLong(l.replaceAll("\\D", "")) >> 10) + " MB")
					.findFirst()
					.orElse("unknown");
		} catch (Exception e) {
			return "unknown";
		}
	}
}
