package io.matryoshka.it.cluster;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;

import org.apache.http.util.EntityUtils;
import org.elasticsearch.client.Request;
import org.elasticsearch.client.Response;
import org.elasticsearch.client.RestClient;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.List;
import java.util.Map;

/** Small JSON-over-HTTP helpers for tests that talk to real nodes. */
public final class Json {

    public static final ObjectMapper MAPPER = new ObjectMapper();

    private Json() {}

    public static String write(Object value) {
        try {
            return MAPPER.writeValueAsString(value);
        } catch (JsonProcessingException e) {
            throw new IllegalArgumentException("not serializable as JSON: " + value, e);
        }
    }

    public static Map<String, Object> parseObject(String json) {
        try {
            @SuppressWarnings("unchecked")
            Map<String, Object> map = MAPPER.readValue(json, Map.class);
            return map;
        } catch (IOException e) {
            throw new IllegalArgumentException("not a JSON object: " + json, e);
        }
    }

    public static List<Object> parseArray(String json) {
        try {
            @SuppressWarnings("unchecked")
            List<Object> list = MAPPER.readValue(json, List.class);
            return list;
        } catch (IOException e) {
            throw new IllegalArgumentException("not a JSON array: " + json, e);
        }
    }

    /** Sends a request with an optional JSON body (a map, list or JSON string) and returns the response body. */
    public static String send(RestClient client, String method, String endpoint, Object body) {
        Request request = new Request(method, endpoint);
        if (body != null) {
            request.setJsonEntity(body instanceof String s ? s : write(body));
        }
        try {
            Response response = client.performRequest(request);
            return response.getEntity() == null ? "" : EntityUtils.toString(response.getEntity());
        } catch (IOException e) {
            throw new UncheckedIOException(method + " " + endpoint + " failed: " + e.getMessage(), e);
        }
    }

    /** Like {@link #send} for an endpoint that answers a JSON object. */
    public static Map<String, Object> call(RestClient client, String method, String endpoint, Object body) {
        return parseObject(send(client, method, endpoint, body));
    }

    /** Follows a dotted path ({@code hits.hits.0._id}) through maps and lists; null when absent. */
    public static Object path(Object root, String dottedPath) {
        Object current = root;
        for (String key : dottedPath.split("\\.")) {
            if (current instanceof Map<?, ?> m) {
                current = m.get(key);
            } else if (current instanceof List<?> l && key.matches("\\d+") && Integer.parseInt(key) < l.size()) {
                current = l.get(Integer.parseInt(key));
            } else {
                return null;
            }
        }
        return current;
    }
}
