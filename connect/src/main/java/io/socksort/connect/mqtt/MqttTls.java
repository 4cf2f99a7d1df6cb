package io.socksort.connect.mqtt;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.UnrecoverableKeyException;
import java.util.Base64;

import javax.net.ssl.KeyManager;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLSocketFactory;
import javax.net.ssl.TrustManager;
import javax.net.ssl.TrustManagerFactory;

import org.apache.kafka.common.config.ConfigException;

/**
 * The TLS side of the connection: the trust store (which CAs the broker's certificate may
 * chain to) and the key store (our client certificate, for brokers that ask for one, such
 * as AWS IoT). Without either, Paho uses the JVM's defaults for {@code ssl://} URIs.
 *
 * A store is named the way Confluent's MQTT connector names it: by path on Confluent
 * Platform ({@code mqtt.ssl.*.store.path}), or on Confluent Cloud by its content as a
 * {@code data:text/plain;base64,...} URI ({@code mqtt.ssl.*.store.file}; a plain path
 * works there too). JKS and PKCS12 files both load.
 */
final class MqttTls {
    private static final String DATA_URI_BASE64 = ";base64,";

    /** A store or password that does not work, with the config key to blame. */
    static final class StoreProblem extends ConfigException {
        private static final long serialVersionUID = 1L;
        final String key;

        StoreProblem(String key, String message) {
            super(key + ": " + message);
            this.key = key;
        }
    }

    private MqttTls() {
    }

    /** The socket factory for the configured stores, or null when none is configured. */
    static SSLSocketFactory socketFactory(MqttSourceConnectorConfig config) {
        String trustKey = config.trustStoreKey();
        String keyKey = config.keyStoreKey();
        if (trustKey == null && keyKey == null) {
            return null;
        }
        try {
            TrustManager[] trust = null;
            if (trustKey != null) {
                KeyStore store = load(config, trustKey, MqttSourceConnectorConfig.SSL_TRUST_STORE_PASSWORD,
                                      config.trustStorePassword());
                TrustManagerFactory factory = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
                factory.init(store);
                trust = factory.getTrustManagers();
            }
            KeyManager[] keys = null;
            if (keyKey != null) {
                char[] storePassword = config.keyStorePassword();
                KeyStore store = load(config, keyKey, MqttSourceConnectorConfig.SSL_KEY_STORE_PASSWORD, storePassword);
                char[] keyPassword = config.keyPassword() != null ? config.keyPassword() : storePassword;
                KeyManagerFactory factory = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
                try {
                    factory.init(store, keyPassword);
                } catch (UnrecoverableKeyException e) {
                    throw new StoreProblem(MqttSourceConnectorConfig.SSL_KEY_PASSWORD,
                        "cannot unlock the private key in " + keyKey + " (" + e.getMessage() + ")");
                }
                keys = factory.getKeyManagers();
            }
            SSLContext context = SSLContext.getInstance("TLS");
            context.init(keys, trust, null);
            return context.getSocketFactory();
        } catch (GeneralSecurityException e) {
            throw new StoreProblem(trustKey != null ? trustKey : keyKey, "cannot set up TLS: " + e);
        }
    }

    /** Load the store named by {@code key}, blaming the password key for a wrong password. */
    static KeyStore load(MqttSourceConnectorConfig config, String key, String passwordKey, char[] password) {
        byte[] bytes = contents(key, config.getString(key));
        try {
            // The default type (PKCS12) reads JKS files too (keystore.type.compat).
            KeyStore store = KeyStore.getInstance(KeyStore.getDefaultType());
            store.load(new ByteArrayInputStream(bytes), password);
            return store;
        } catch (IOException e) {
            if (e.getCause() instanceof UnrecoverableKeyException) {
                throw new StoreProblem(passwordKey, "does not open " + key + " (" + e.getMessage() + ")");
            }
            throw new StoreProblem(key, "not a JKS or PKCS12 key store (" + e.getMessage() + ")");
        } catch (GeneralSecurityException e) {
            throw new StoreProblem(key, "cannot read the key store: " + e);
        }
    }

    /** A store's bytes from a path or a {@code data:...;base64,} URI. */
    static byte[] contents(String key, String value) {
        if (value.startsWith("data:")) {
            return decodeDataUri(key, value);
        }
        Path path = Path.of(value);
        if (!Files.isRegularFile(path)) {
            throw new StoreProblem(key, "no such file: " + value);
        }
        try {
            return Files.readAllBytes(path);
        } catch (IOException e) {
            throw new StoreProblem(key, "cannot read " + value + ": " + e.getMessage());
        }
    }

    static byte[] decodeDataUri(String key, String value) {
        int at = value.indexOf(DATA_URI_BASE64);
        if (at < 0 || value.indexOf(',') < at) {
            throw new StoreProblem(key, "a data: URI must be base64, e.g. data:text/plain;base64,<the store's bytes>");
        }
        try {
            return Base64.getMimeDecoder().decode(value.substring(at + DATA_URI_BASE64.length())
                                                       .getBytes(StandardCharsets.US_ASCII));
        } catch (IllegalArgumentException e) {
            throw new StoreProblem(key, "the data: URI's content is not base64 (" + e.getMessage() + ")");
        }
    }
}
