package org.geofhir.peer;

import ca.uhn.fhir.interceptor.api.Hook;
import ca.uhn.fhir.interceptor.api.Interceptor;
import ca.uhn.fhir.interceptor.api.Pointcut;
import ca.uhn.fhir.rest.api.RestOperationTypeEnum;
import ca.uhn.fhir.rest.server.exceptions.AuthenticationException;
import ca.uhn.fhir.rest.server.servlet.ServletRequestDetails;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.jwk.source.JWKSource;
import com.nimbusds.jose.jwk.source.JWKSourceBuilder;
import com.nimbusds.jose.proc.JWSVerificationKeySelector;
import com.nimbusds.jose.proc.SecurityContext;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.proc.DefaultJWTClaimsVerifier;
import com.nimbusds.jwt.proc.DefaultJWTProcessor;
import java.net.URL;
import java.util.Set;

/**
 * OAuth mode: a request to /oauth/fhir/ needs `Authorization: Bearer <JWT>` signed with a key of the issuer's
 * JWKS (RS256), from that issuer, unexpired, its audience this base. The CapabilityStatement stays public.
 * A failure is a 401 OperationOutcome with `WWW-Authenticate: Bearer error="invalid_token"`.
 */
@Interceptor
public class BearerCheck {
	private static volatile int port;
	private final String issuer;
	private volatile DefaultJWTProcessor<SecurityContext> processor;

	public BearerCheck(String issuer) {
		this.issuer = issuer;
	}

	static void setPort(int p) {
		port = p;
	}

	@Hook(Pointcut.SERVER_INCOMING_REQUEST_PRE_HANDLED)
	public void check(ServletRequestDetails request, RestOperationTypeEnum operation) {
		if (!request.getServletRequest().getServletPath().startsWith("/oauth/")) return;
		if (operation == RestOperationTypeEnum.METADATA) return;
		String header = request.getHeader("Authorization");
		if (header == null || !header.regionMatches(true, 0, "Bearer ", 0, 7)) throw refused("no bearer token");
		try {
			processor().process(header.substring(7).trim(), null);
		} catch (Exception e) {
			throw refused("invalid token: " + e.getMessage());
		}
	}

	private DefaultJWTProcessor<SecurityContext> processor() throws Exception {
		if (processor != null) return processor;
		if (issuer.isEmpty()) throw new IllegalStateException("started without --issuer");
		JWKSource<SecurityContext> keys = JWKSourceBuilder.create(
						new URL(issuer + "/protocol/openid-connect/certs"))
				.retrying(true)
				.build();
		DefaultJWTProcessor<SecurityContext> p = new DefaultJWTProcessor<>();
		p.setJWSKeySelector(new JWSVerificationKeySelector<>(JWSAlgorithm.RS256, keys));
		String audience = "http://127.0.0.1:" + port + "/oauth/fhir";
		p.setJWTClaimsSetVerifier(new DefaultJWTClaimsVerifier<>(
				audience, new JWTClaimsSet.Builder().issuer(issuer).build(), Set.of("exp", "iat", "sub")));
		// Keycloak types its access tokens "JWT" (not RFC 9068's at+jwt).
		p.setJWSTypeVerifier((type, ctx) -> {});
		processor = p;
		return p;
	}

	private static AuthenticationException refused(String why) {
		AuthenticationException e = new AuthenticationException(why);
		e.addResponseHeader("WWW-Authenticate", "Bearer error=\"invalid_token\"");
		return e;
	}
}
