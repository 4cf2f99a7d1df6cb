package io.socksort.connect.mqtt;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.OutputStream;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.security.cert.CertPathBuilderException;
import java.security.cert.CertificateException;
import java.util.Base64;
import java.util.List;
import java.util.Map;

import javax.net.ssl.SSLHandshakeException;

import org.apache.kafka.common.config.ConfigException;
import org.eclipse.paho.client.mqttv3.MqttException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The mqtt.ssl.* keys: which store loads, and which key a broken one is blamed on. */
class MqttTlsTest {
    @TempDir
    Path dir;

    private final MqttSourceConnector connector = new MqttSourceConnector();

    private Map<String, List<String>> errors(Map<String, String> config) {
        return MqttSourceConnectorTest.errors(connector, config);
    }

    private static Map<String, String> config(String... extra) {
        return MqttSourceTaskTest.config(extra);
    }

    private static int closedPort() throws IOException {
        try (ServerSocket socket = new ServerSocket(0)) {
            return socket.getLocalPort();
        }
    }

    /** An empty PKCS12 store sealed with {@code password}: enough to test loading and passwords. */
    private Path emptyStore(String name, String password) throws Exception {
        KeyStore store = KeyStore.getInstance("PKCS12");
        store.load(null, null);
        Path path = dir.resolve(name);
        try (OutputStream out = Files.newOutputStream(path)) {
            store.store(out, password.toCharArray());
        }
        return path;
    }

    /** A JKS store with one key pair whose key password differs from the store's (keytool, as users make them). */
    private Path keyStoreWithKeyPassword(String storePassword, String keyPassword) throws Exception {
        Path path = dir.resolve("client.jks");
        Process keytool = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "keytool").toString(),
            "-genkeypair", "-keystore", path.toString(), "-storetype", "JKS", "-storepass", storePassword,
            "-keypass", keyPassword, "-alias", "client", "-keyalg", "EC", "-dname", "CN=test client")
            .redirectErrorStream(true).start();
        String output = new String(keytool.getInputStream().readAllBytes());
        assertEquals(0, keytool.waitFor(), output);
        return path;
    }

    @Test
    void aTrustStorePathThatDoesNotExistIsNamed() {
        Map<String, List<String>> errors = errors(config("mqtt.server.uri", "ssl://127.0.0.1:8883",
            "mqtt.ssl.trust.store.path", dir.resolve("missing.p12").toString()));
        assertEquals(List.of("mqtt.ssl.trust.store.path"), List.copyOf(errors.keySet()));
        assertTrue(errors.get("mqtt.ssl.trust.store.path").get(0).contains("no such file"));
    }

    @Test
    void aKeyStorePathThatDoesNotExistIsNamed() {
        Map<String, List<String>> errors = errors(config("mqtt.ssl.key.store.path", dir.resolve("nope.jks").toString()));
        assertEquals(List.of("mqtt.ssl.key.store.path"), List.copyOf(errors.keySet()));
    }

    @Test
    void theConfigRefusesAMissingTrustStoreAtStartToo() {
        // Connect starts a connector without validate(); the constructor's check still names the key.
        ConfigException error = assertThrows(ConfigException.class, () -> new MqttSourceConnectorConfig(
            config("mqtt.ssl.trust.store.path", dir.resolve("missing.p12").toString())));
        assertTrue(error.getMessage().contains("mqtt.ssl.trust.store.path"), error.getMessage());
    }

    @Test
    void aWrongTrustStorePasswordIsBlamedOnThePasswordKey() throws Exception {
        Path store = emptyStore("trust.p12", "right");
        Map<String, List<String>> errors = errors(config("mqtt.ssl.trust.store.path", store.toString(),
            "mqtt.ssl.trust.store.password", "wrong"));
        assertEquals(List.of("mqtt.ssl.trust.store.password"), List.copyOf(errors.keySet()));
    }

    @Test
    void aFileThatIsNotAKeyStoreIsNamed() throws Exception {
        Path bogus = dir.resolve("ca.pem");
        Files.writeString(bogus, "-----BEGIN CERTIFICATE-----\nnot a key store\n");
        Map<String, List<String>> errors = errors(config("mqtt.ssl.trust.store.path", bogus.toString(),
            "mqtt.ssl.trust.store.password", "x"));
        assertEquals(List.of("mqtt.ssl.trust.store.path"), List.copyOf(errors.keySet()));
        assertTrue(errors.get("mqtt.ssl.trust.store.path").get(0).contains("not a JKS or PKCS12 key store"));
    }

    @Test
    void aTrustStoreGivenAsABase64DataUriLoads() throws Exception {
        Path store = emptyStore("trust.p12", "secret");
        String uri = "data:text/plain;base64," + Base64.getEncoder().encodeToString(Files.readAllBytes(store));
        MqttSourceConnectorConfig config = new MqttSourceConnectorConfig(config(
            "mqtt.ssl.trust.store.file", uri, "mqtt.ssl.trust.store.password", "secret"));
        assertEquals("mqtt.ssl.trust.store.file", config.trustStoreKey());
        assertNotNull(MqttTls.socketFactory(config));
    }

    @Test
    void aDataUriThatIsNotBase64IsNamed() {
        Map<String, List<String>> errors = errors(config("mqtt.ssl.trust.store.file", "data:text/plain,abc"));
        assertEquals(List.of("mqtt.ssl.trust.store.file"), List.copyOf(errors.keySet()));
    }

    @Test
    void aTrustStoreByPathAndByFileAtOnceIsNamed() throws Exception {
        Path store = emptyStore("trust.p12", "secret");
        Map<String, List<String>> errors = errors(config("mqtt.ssl.trust.store.path", store.toString(),
            "mqtt.ssl.trust.store.file", store.toString(), "mqtt.ssl.trust.store.password", "secret"));
        assertEquals(List.of("mqtt.ssl.trust.store.file"), List.copyOf(errors.keySet()));
        assertTrue(errors.get("mqtt.ssl.trust.store.file").get(0).contains("not both"));
    }

    @Test
    void aWrongPrivateKeyPasswordIsBlamedOnTheKeyPasswordKey() throws Exception {
        Path store = keyStoreWithKeyPassword("storepass", "keypass");
        Map<String, List<String>> errors = errors(config("mqtt.ssl.key.store.path", store.toString(),
            "mqtt.ssl.key.store.password", "storepass", "mqtt.ssl.key.password", "not-the-key-password"));
        assertEquals(List.of("mqtt.ssl.key.password"), List.copyOf(errors.keySet()));
    }

    @Test
    void aKeyStoreWithTheRightPasswordsLoads() throws Exception {
        Path store = keyStoreWithKeyPassword("storepass", "keypass");
        MqttSourceConnectorConfig config = new MqttSourceConnectorConfig(config("mqtt.ssl.key.store.path",
            store.toString(), "mqtt.ssl.key.store.password", "storepass", "mqtt.ssl.key.password", "keypass"));
        assertNotNull(MqttTls.socketFactory(config));
    }

    @Test
    void withoutStoresPahoKeepsTheJvmDefaults() {
        assertNull(MqttTls.socketFactory(new MqttSourceConnectorConfig(config("mqtt.server.uri", "ssl://127.0.0.1:8883"))));
    }

    @Test
    void anSslUriWithoutATrustStoreIsAllowed() throws IOException {
        // The JVM's default trust store may well hold the broker's CA (AWS IoT, public CAs):
        // only the trial connection, here to a closed port, can say.
        Map<String, List<String>> errors = errors(config("mqtt.server.uri", "ssl://127.0.0.1:" + closedPort()));
        assertEquals(List.of("mqtt.server.uri"), List.copyOf(errors.keySet()));
        assertTrue(errors.get("mqtt.server.uri").get(0).startsWith("cannot reach"));
    }

    @Test
    void anUntrustedBrokerCertificateIsBlamedOnTheConfiguredTrustStore() {
        MqttException failure = new MqttException(MqttException.REASON_CODE_CLIENT_EXCEPTION,
            new SSLHandshakeException("PKIX path building failed"));
        failure.getCause().initCause(new CertPathBuilderException("unable to find valid certification path"));
        MqttProbe.Problem problem = MqttProbe.classify(failure, "mqtt.ssl.trust.store.file");
        assertEquals("mqtt.ssl.trust.store.file", problem.key());
        assertTrue(problem.message().contains("not signed by a CA in the trust store"), problem.message());
    }

    @Test
    void anUntrustedBrokerCertificateWithoutATrustStoreAsksForOne() {
        MqttException failure = new MqttException(MqttException.REASON_CODE_CLIENT_EXCEPTION,
            new SSLHandshakeException("PKIX path building failed"));
        failure.getCause().initCause(new CertPathBuilderException("unable to find valid certification path"));
        MqttProbe.Problem problem = MqttProbe.classify(failure, null);
        assertEquals("mqtt.ssl.trust.store.path", problem.key());
        assertTrue(problem.message().contains("JVM's default trust store"), problem.message());
    }

    @Test
    void aCertificateForAnotherHostIsBlamedOnTheUri() {
        MqttException failure = new MqttException(MqttException.REASON_CODE_CLIENT_EXCEPTION,
            new SSLHandshakeException("No subject alternative names matching IP address 10.0.0.1 found"));
        failure.getCause().initCause(new CertificateException("No subject alternative names matching IP address 10.0.0.1 found"));
        assertEquals("mqtt.server.uri", MqttProbe.classify(failure, "mqtt.ssl.trust.store.path").key());
    }
}
