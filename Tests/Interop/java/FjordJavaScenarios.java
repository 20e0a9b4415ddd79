// Scenarios of the official Apache Kafka Java client (kafka-clients 3.9.1) against a broker, for
// Tests/Interop/test_java_client.py, which compiles this file with javac at test time.
//
//   java -cp <classes>:<kafka-clients.jar>:... FjordJavaScenarios <scenario> <bootstrap> [args...]
//
// Each scenario prints one JSON object per line on stdout ({"event": ..., ...}); the Python test parses them and
// asserts on exact records, offsets and errors. An error the scenario provokes on purpose is a "step" event
// ({"event":"step","step":NAME,"ok":false,"error":"ExceptionSimpleName","message":...}); any other exception ends
// the program with exit status 1 and a stack trace on stderr. Plain Java 17, no dependency besides the client jars.

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.OptionalLong;
import java.util.Properties;
import java.util.Random;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.BooleanSupplier;
import java.util.stream.Collectors;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AlterConfigOp;
import org.apache.kafka.clients.admin.AlterConfigsOptions;
import org.apache.kafka.clients.admin.Config;
import org.apache.kafka.clients.admin.ConfigEntry;
import org.apache.kafka.clients.admin.ConsumerGroupDescription;
import org.apache.kafka.clients.admin.ConsumerGroupListing;
import org.apache.kafka.clients.admin.CreateTopicsOptions;
import org.apache.kafka.clients.admin.CreateTopicsResult;
import org.apache.kafka.clients.admin.DescribeClusterResult;
import org.apache.kafka.clients.admin.DescribeReplicaLogDirsResult;
import org.apache.kafka.clients.admin.ListOffsetsOptions;
import org.apache.kafka.clients.admin.ListOffsetsResult;
import org.apache.kafka.clients.admin.ListTopicsOptions;
import org.apache.kafka.clients.admin.ListTransactionsOptions;
import org.apache.kafka.clients.admin.LogDirDescription;
import org.apache.kafka.clients.admin.MemberDescription;
import org.apache.kafka.clients.admin.NewPartitions;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.admin.DescribeProducersResult.PartitionProducerState;
import org.apache.kafka.clients.admin.ProducerState;
import org.apache.kafka.clients.admin.RecordsToDelete;
import org.apache.kafka.clients.admin.ReplicaInfo;
import org.apache.kafka.clients.admin.TopicDescription;
import org.apache.kafka.clients.admin.TopicListing;
import org.apache.kafka.clients.admin.TransactionDescription;
import org.apache.kafka.clients.admin.TransactionListing;
import org.apache.kafka.clients.consumer.ConsumerRebalanceListener;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.consumer.OffsetAndTimestamp;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.IsolationLevel;
import org.apache.kafka.common.Node;
import org.apache.kafka.common.TopicCollection;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.TopicPartitionInfo;
import org.apache.kafka.common.TopicPartitionReplica;
import org.apache.kafka.common.Uuid;
import org.apache.kafka.common.config.ConfigResource;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.header.internals.RecordHeader;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;

public final class FjordJavaScenarios {
    static final long WAIT_MS = 30_000;

    public static void main(String[] args) throws Exception {
        if (args.length < 2) {
            System.err.println("usage: FjordJavaScenarios <scenario> <bootstrap> [args...]");
            System.exit(2);
        }
        String bs = args[1];
        String[] a = Arrays.copyOfRange(args, 2, args.length);
        switch (args[0]) {
            case "admin-topics" -> adminTopics(bs);
            case "admin-configs" -> adminConfigs(bs, a[0]);
            case "offsets" -> offsets(bs, a[0]);
            case "admin-groups" -> adminGroups(bs, a[0], a[1]);
            case "log-dirs" -> logDirs(bs, a[0]);
            case "txn-admin" -> txnAdmin(bs, a[0], a[1]);
            case "produce-codec" -> produceCodec(bs, a[0], a[1], Integer.parseInt(a[2]));
            case "group-consume" -> groupConsume(bs, a[0], a[1], Integer.parseInt(a[2]), a[3]);
            case "transactions" -> transactions(bs, a[0], a[1], a[2], a[3]);
            case "fencing" -> fencing(bs, a[0], a[1]);
            case "large-record" -> largeRecord(bs, a[0], a[1]);
            case "sasl" -> sasl(bs, a[0], a[1]);
            case "tls" -> tls(bs, a[0], a[1]);
            default -> {
                System.err.println("unknown scenario " + args[0]);
                System.exit(2);
            }
        }
        emit("done");
        System.out.flush();
        // Client threads (producer I/O, consumer heartbeats) are closed by now; exit without waiting for stragglers.
        System.exit(0);
    }

    // ---------------------------------------------------------------- output

    static synchronized void emit(String event, Object... kv) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("event", event);
        for (int i = 0; i + 1 < kv.length; i += 2) m.put((String) kv[i], kv[i + 1]);
        System.out.println(json(m));
        System.out.flush();
    }

    static Map<String, Object> obj(Object... kv) {
        Map<String, Object> m = new LinkedHashMap<>();
        for (int i = 0; i + 1 < kv.length; i += 2) m.put((String) kv[i], kv[i + 1]);
        return m;
    }

    static String json(Object v) {
        StringBuilder sb = new StringBuilder();
        writeJson(sb, v);
        return sb.toString();
    }

    static void writeJson(StringBuilder sb, Object v) {
        if (v == null) {
            sb.append("null");
        } else if (v instanceof Optional<?> o) {
            writeJson(sb, o.orElse(null));
        } else if (v instanceof OptionalLong o) {
            writeJson(sb, o.isPresent() ? o.getAsLong() : null);
        } else if (v instanceof OptionalInt o) {
            writeJson(sb, o.isPresent() ? o.getAsInt() : null);
        } else if (v instanceof Number || v instanceof Boolean) {
            sb.append(v);
        } else if (v instanceof Map<?, ?> m) {
            sb.append('{');
            boolean first = true;
            for (Map.Entry<?, ?> e : m.entrySet()) {
                if (!first) sb.append(',');
                first = false;
                writeJson(sb, String.valueOf(e.getKey()));
                sb.append(':');
                writeJson(sb, e.getValue());
            }
            sb.append('}');
        } else if (v instanceof Collection<?> c) {
            sb.append('[');
            boolean first = true;
            for (Object o : c) {
                if (!first) sb.append(',');
                first = false;
                writeJson(sb, o);
            }
            sb.append(']');
        } else {
            String s = v.toString();
            sb.append('"');
            for (int i = 0; i < s.length(); i++) {
                char ch = s.charAt(i);
                switch (ch) {
                    case '"' -> sb.append("\\\"");
                    case '\\' -> sb.append("\\\\");
                    case '\n' -> sb.append("\\n");
                    case '\r' -> sb.append("\\r");
                    case '\t' -> sb.append("\\t");
                    default -> {
                        if (ch < 0x20) sb.append(String.format("\\u%04x", (int) ch));
                        else sb.append(ch);
                    }
                }
            }
            sb.append('"');
        }
    }

    /** The exception a failed call is about: futures wrap it in ExecutionException / CompletionException. */
    static Throwable unwrap(Throwable t) {
        while ((t instanceof ExecutionException || t instanceof CompletionException) && t.getCause() != null) {
            t = t.getCause();
        }
        return t;
    }

    /** Runs one step that may fail on purpose and reports how it ended. */
    static Object step(String name, Callable<?> body) {
        try {
            Object result = body.call();
            emit("step", "step", name, "ok", true);
            return result;
        } catch (Throwable t) {
            Throwable e = unwrap(t);
            emit("step", "step", name, "ok", false, "error", e.getClass().getSimpleName(),
                 "message", String.valueOf(e.getMessage()));
            return null;
        }
    }

    static String tp(TopicPartition p) {
        return p.topic() + "-" + p.partition();
    }

    static List<String> tps(Collection<TopicPartition> parts) {
        return parts.stream().sorted((x, y) -> tp(x).compareTo(tp(y))).map(FjordJavaScenarios::tp)
            .collect(Collectors.toList());
    }

    static String str(byte[] b) {
        return b == null ? null : new String(b, StandardCharsets.UTF_8);
    }

    static byte[] bytes(String s) {
        return s == null ? null : s.getBytes(StandardCharsets.UTF_8);
    }

    static String sha256(byte[] b) throws Exception {
        return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(b));
    }

    static Map<String, Object> recordJson(ConsumerRecord<byte[], byte[]> r) throws Exception {
        List<List<String>> headers = new ArrayList<>();
        for (Header h : r.headers()) headers.add(Arrays.asList(h.key(), str(h.value())));
        byte[] v = r.value();
        boolean big = v != null && v.length > 10_000;
        return obj("topic", r.topic(), "partition", r.partition(), "offset", r.offset(),
                   "timestamp", r.timestamp(), "timestamp_type", r.timestampType().name,
                   "key", str(r.key()), "value", big ? null : str(v),
                   "value_len", v == null ? null : v.length, "value_sha256", big ? sha256(v) : null,
                   "headers", headers, "leader_epoch", r.leaderEpoch());
    }

    static Map<String, Object> metaJson(RecordMetadata m) {
        return obj("topic", m.topic(), "partition", m.partition(), "offset", m.offset(), "timestamp", m.timestamp());
    }

    // ---------------------------------------------------------------- clients

    static Properties props(String bs, String... kv) {
        Properties p = new Properties();
        p.put("bootstrap.servers", bs);
        p.put("request.timeout.ms", "15000");
        p.put("default.api.timeout.ms", "30000");
        for (int i = 0; i + 1 < kv.length; i += 2) p.put(kv[i], kv[i + 1]);
        return p;
    }

    static Admin admin(String bs) {
        return Admin.create(props(bs, "client.id", "java-admin"));
    }

    static KafkaProducer<byte[], byte[]> producer(String bs, String... kv) {
        Properties p = props(bs, "linger.ms", "5", "delivery.timeout.ms", "30000", "client.id", "java-producer");
        for (int i = 0; i + 1 < kv.length; i += 2) p.put(kv[i], kv[i + 1]);
        return new KafkaProducer<>(p, new ByteArraySerializer(), new ByteArraySerializer());
    }

    static KafkaConsumer<byte[], byte[]> consumer(String bs, String... kv) {
        Properties p = props(bs, "auto.offset.reset", "earliest", "enable.auto.commit", "false",
                             "client.id", "java-consumer");
        for (int i = 0; i + 1 < kv.length; i += 2) p.put(kv[i], kv[i + 1]);
        return new KafkaConsumer<>(p, new ByteArrayDeserializer(), new ByteArrayDeserializer());
    }

    static void createTopic(Admin admin, String name, int partitions, Map<String, String> configs) throws Exception {
        admin.createTopics(List.of(new NewTopic(name, partitions, (short) 1).configs(configs))).all().get();
    }

    static RecordMetadata send(KafkaProducer<byte[], byte[]> p, String topic, Integer partition, String key,
                               String value) throws Exception {
        return p.send(new ProducerRecord<>(topic, partition, bytes(key), bytes(value))).get();
    }

    /** Polls until `n` records arrived (then once more, briefly, so extra records would show), or the deadline. */
    static List<ConsumerRecord<byte[], byte[]>> pollN(KafkaConsumer<byte[], byte[]> c, int n) {
        List<ConsumerRecord<byte[], byte[]>> out = new ArrayList<>();
        long deadline = System.currentTimeMillis() + WAIT_MS;
        while (out.size() < n && System.currentTimeMillis() < deadline) {
            for (ConsumerRecord<byte[], byte[]> r : c.poll(Duration.ofMillis(200))) out.add(r);
        }
        for (ConsumerRecord<byte[], byte[]> r : c.poll(Duration.ofMillis(500))) out.add(r);
        return out;
    }

    /** Every record of `topic` from the beginning with the isolation level, one "record" event each. */
    static List<ConsumerRecord<byte[], byte[]>> readAll(String bs, String topic, String isolation, int expect,
                                                         String reader, String... extra) throws Exception {
        List<String> conf = new ArrayList<>(List.of("isolation.level", isolation));
        conf.addAll(List.of(extra));
        try (KafkaConsumer<byte[], byte[]> c = consumer(bs, conf.toArray(new String[0]))) {
            List<TopicPartition> parts = c.partitionsFor(topic).stream()
                .map(i -> new TopicPartition(topic, i.partition())).collect(Collectors.toList());
            c.assign(parts);
            c.seekToBeginning(parts);
            List<ConsumerRecord<byte[], byte[]>> records = pollN(c, expect);
            for (ConsumerRecord<byte[], byte[]> r : records) emit("record", "reader", reader, "record", recordJson(r));
            Map<String, Long> positions = new TreeMap<>();
            for (TopicPartition p : parts) positions.put(tp(p), c.position(p));
            Map<String, Long> ends = new TreeMap<>();
            c.endOffsets(parts).forEach((p, o) -> ends.put(tp(p), o));
            emit("positions", "reader", reader, "positions", positions, "end_offsets", ends);
            return records;
        }
    }

    static void waitFor(String what, BooleanSupplier cond) throws Exception {
        long deadline = System.currentTimeMillis() + WAIT_MS;
        while (!cond.getAsBoolean()) {
            if (System.currentTimeMillis() > deadline) throw new IllegalStateException("timed out waiting for " + what);
            Thread.sleep(50);
        }
    }

    // ---------------------------------------------------------------- admin: topics

    static Map<String, Object> topicJson(TopicDescription d) {
        List<Object> parts = new ArrayList<>();
        for (TopicPartitionInfo i : d.partitions()) {
            parts.add(obj("partition", i.partition(), "leader", i.leader() == null ? null : i.leader().id(),
                          "replicas", i.replicas().stream().map(Node::id).collect(Collectors.toList()),
                          "isr", i.isr().stream().map(Node::id).collect(Collectors.toList())));
        }
        return obj("name", d.name(), "topic_id", d.topicId().toString(), "internal", d.isInternal(), "partitions", parts);
    }

    // ---------------------------------------------------------------- SASL

    /** The properties of a SASL_PLAINTEXT login: PLAIN or a SCRAM mechanism, as Kafka's clients configure them. */
    static String[] login(String mechanism, String user, String password) {
        String module = mechanism.equals("PLAIN")
            ? "org.apache.kafka.common.security.plain.PlainLoginModule"
            : "org.apache.kafka.common.security.scram.ScramLoginModule";
        return new String[] {"security.protocol", "SASL_PLAINTEXT", "sasl.mechanism", mechanism, "sasl.jaas.config",
            module + " required username=\"" + user + "\" password=\"" + password + "\";"};
    }

    /**
     * As the PLAIN admin: SCRAM-SHA-256 and -512 credentials for `user`, described; one record written with each
     * mechanism (PLAIN as the admin, SCRAM as `user`), read back as `user` with SCRAM-SHA-512; a wrong password
     * refused; the credentials deleted.
     */
    static void sasl(String bs, String topic, String user) throws Exception {
        String password = user + "-secret";
        try (Admin a = Admin.create(props(bs, login("PLAIN", "admin", "admin-secret")))) {
            a.createTopics(List.of(new NewTopic(topic, 1, (short) 1))).all().get();
            a.alterUserScramCredentials(List.of(
                new org.apache.kafka.clients.admin.UserScramCredentialUpsertion(user,
                    new org.apache.kafka.clients.admin.ScramCredentialInfo(
                        org.apache.kafka.clients.admin.ScramMechanism.SCRAM_SHA_256, 4096), password),
                new org.apache.kafka.clients.admin.UserScramCredentialUpsertion(user,
                    new org.apache.kafka.clients.admin.ScramCredentialInfo(
                        org.apache.kafka.clients.admin.ScramMechanism.SCRAM_SHA_512, 8192), password))).all().get();
            var described = a.describeUserScramCredentials(List.of(user)).description(user).get();
            List<Object> infos = new ArrayList<>();
            for (var info : described.credentialInfos()) {
                infos.add(obj("mechanism", info.mechanism().mechanismName(), "iterations", info.iterations()));
            }
            emit("scram", "user", described.name(), "credentials", infos);
        }
        String[][] logins = {{"PLAIN", "admin", "admin-secret"}, {"SCRAM-SHA-256", user, password},
            {"SCRAM-SHA-512", user, password}};
        for (String[] login : logins) {
            try (KafkaProducer<byte[], byte[]> p = producer(bs, login(login[0], login[1], login[2]))) {
                RecordMetadata m = p.send(new ProducerRecord<>(topic, login[0].getBytes(StandardCharsets.UTF_8))).get();
                emit("sent", "mechanism", login[0], "offset", m.offset());
            }
        }
        try (KafkaConsumer<byte[], byte[]> c = consumer(bs, login("SCRAM-SHA-512", user, password))) {
            TopicPartition tp = new TopicPartition(topic, 0);
            c.assign(List.of(tp));
            c.seekToBeginning(List.of(tp));
            List<ConsumerRecord<byte[], byte[]>> got = new ArrayList<>();
            long deadline = System.currentTimeMillis() + WAIT_MS;
            while (got.size() < logins.length && System.currentTimeMillis() < deadline) {
                for (ConsumerRecord<byte[], byte[]> r : c.poll(Duration.ofMillis(200))) got.add(r);
            }
            for (ConsumerRecord<byte[], byte[]> r : got) {
                emit("record", "offset", r.offset(), "value", new String(r.value(), StandardCharsets.UTF_8));
            }
        }
        step("wrong_password", () -> {
            try (KafkaProducer<byte[], byte[]> p = producer(bs, concat(login("SCRAM-SHA-256", user, "wrong"),
                    "max.block.ms", "10000"))) {
                return p.send(new ProducerRecord<>(topic, "never".getBytes(StandardCharsets.UTF_8))).get();
            }
        });
        try (Admin a = Admin.create(props(bs, login("PLAIN", "admin", "admin-secret")))) {
            a.alterUserScramCredentials(List.of(
                new org.apache.kafka.clients.admin.UserScramCredentialDeletion(user,
                    org.apache.kafka.clients.admin.ScramMechanism.SCRAM_SHA_256))).all().get();
            step("describe_after_delete", () -> a.describeUserScramCredentials(List.of(user)).all().get());
        }
    }

    /**
     * Over SSL, trusting the PEM certificate authority at `caFile` (Kafka's ssl.truststore.type=PEM): a topic created
     * with the Admin, 20 records written and read back.
     */
    static void tls(String bs, String topic, String caFile) throws Exception {
        String[] ssl = {"security.protocol", "SSL", "ssl.truststore.type", "PEM", "ssl.truststore.location", caFile};
        try (Admin a = Admin.create(props(bs, ssl))) {
            a.createTopics(List.of(new NewTopic(topic, 1, (short) 1))).all().get();
        }
        try (KafkaProducer<byte[], byte[]> p = producer(bs, ssl)) {
            for (int i = 0; i < 20; i++) {
                p.send(new ProducerRecord<>(topic, ("tls-" + i).getBytes(StandardCharsets.UTF_8)));
            }
            p.flush();
        }
        try (KafkaConsumer<byte[], byte[]> c = consumer(bs, ssl)) {
            TopicPartition tp = new TopicPartition(topic, 0);
            c.assign(List.of(tp));
            c.seekToBeginning(List.of(tp));
            int got = 0;
            long deadline = System.currentTimeMillis() + WAIT_MS;
            while (got < 20 && System.currentTimeMillis() < deadline) {
                for (ConsumerRecord<byte[], byte[]> r : c.poll(Duration.ofMillis(200))) {
                    emit("record", "offset", r.offset(), "value", new String(r.value(), StandardCharsets.UTF_8));
                    got++;
                }
            }
        }
    }

    static String[] concat(String[] first, String... more) {
        String[] all = Arrays.copyOf(first, first.length + more.length);
        System.arraycopy(more, 0, all, first.length, more.length);
        return all;
    }

    static void adminTopics(String bs) throws Exception {
        try (Admin a = admin(bs)) {
            DescribeClusterResult dc = a.describeCluster();
            List<Object> nodes = new ArrayList<>();
            for (Node n : dc.nodes().get()) nodes.add(obj("id", n.id(), "host", n.host(), "port", n.port()));
            emit("cluster", "cluster_id", dc.clusterId().get(), "controller", dc.controller().get().id(), "nodes", nodes);

            CreateTopicsResult cr = a.createTopics(List.of(
                new NewTopic("jt-a", 3, (short) 1).configs(Map.of("retention.ms", "3600000")),
                new NewTopic("jt-b", Optional.empty(), Optional.empty())));
            cr.all().get();
            for (String t : List.of("jt-a", "jt-b")) {
                Config config = cr.config(t).get();
                ConfigEntry retention = config.get("retention.ms");
                emit("created", "topic", t, "partitions", cr.numPartitions(t).get(),
                     "replication_factor", cr.replicationFactor(t).get(), "topic_id", cr.topicId(t).get().toString(),
                     "retention_ms", retention == null ? null : retention.value(),
                     "retention_ms_source", retention == null ? null : retention.source().name());
            }
            step("create_existing", () -> a.createTopics(List.of(new NewTopic("jt-a", 1, (short) 1))).all().get());
            step("create_invalid_name", () -> a.createTopics(List.of(new NewTopic("bad/name", 1, (short) 1))).all().get());
            step("create_replication_factor_3", () ->
                a.createTopics(List.of(new NewTopic("jt-rf3", 1, (short) 3))).all().get());
            step("create_invalid_config", () -> a.createTopics(List.of(
                new NewTopic("jt-badconf", 1, (short) 1).configs(Map.of("cleanup.policy", "sometimes")))).all().get());
            step("create_validate_only", () -> a.createTopics(List.of(new NewTopic("jt-v", 2, (short) 1)),
                                                             new CreateTopicsOptions().validateOnly(true)).all().get());

            emit("list", "names", a.listTopics().names().get().stream().sorted().collect(Collectors.toList()));
            Map<String, Boolean> withInternal = new TreeMap<>();
            for (TopicListing l : a.listTopics(new ListTopicsOptions().listInternal(true)).listings().get()) {
                withInternal.put(l.name(), l.isInternal());
            }
            emit("list_internal", "topics", withInternal);

            Map<String, TopicDescription> described = a.describeTopics(List.of("jt-a", "jt-b")).allTopicNames().get();
            for (String t : List.of("jt-a", "jt-b")) emit("described", "topic", topicJson(described.get(t)));
            Uuid idA = described.get("jt-a").topicId();
            Map<Uuid, TopicDescription> byId = a.describeTopics(TopicCollection.ofTopicIds(List.of(idA))).allTopicIds().get();
            emit("described_by_id", "topic", topicJson(byId.get(idA)));
            step("describe_unknown", () -> a.describeTopics(List.of("jt-nope")).allTopicNames().get());

            step("create_partitions_5", () -> a.createPartitions(Map.of("jt-a", NewPartitions.increaseTo(5))).all().get());
            step("create_partitions_same", () -> a.createPartitions(Map.of("jt-a", NewPartitions.increaseTo(5))).all().get());
            step("create_partitions_fewer", () -> a.createPartitions(Map.of("jt-a", NewPartitions.increaseTo(2))).all().get());
            step("create_partitions_unknown", () ->
                a.createPartitions(Map.of("jt-nope", NewPartitions.increaseTo(2))).all().get());
            emit("described_after_create_partitions",
                 "topic", topicJson(a.describeTopics(List.of("jt-a")).allTopicNames().get().get("jt-a")));

            step("delete_b", () -> a.deleteTopics(List.of("jt-b")).all().get());
            step("delete_unknown", () -> a.deleteTopics(List.of("jt-nope")).all().get());
            emit("list_after_delete", "names", a.listTopics().names().get().stream().sorted().collect(Collectors.toList()));
            step("delete_a_by_id", () -> a.deleteTopics(TopicCollection.ofTopicIds(List.of(idA))).all().get());
            step("delete_unknown_id", () -> a.deleteTopics(TopicCollection.ofTopicIds(List.of(Uuid.randomUuid()))).all().get());
            emit("list_after_delete_by_id", "names", a.listTopics().names().get().stream().sorted().collect(Collectors.toList()));
        }
    }

    // ---------------------------------------------------------------- admin: configs

    static Map<String, Object> configJson(Config config) {
        Map<String, Object> out = new TreeMap<>();
        for (ConfigEntry e : config.entries()) {
            out.put(e.name(), obj("value", e.value(), "source", e.source().name(), "default", e.isDefault(),
                                  "read_only", e.isReadOnly(), "sensitive", e.isSensitive(),
                                  "synonyms", e.synonyms().stream().map(s -> s.name() + "=" + s.value() + "@" + s.source().name())
                                      .collect(Collectors.toList())));
        }
        return out;
    }

    static void describeConfigsEvent(Admin a, ConfigResource r, String label) throws Exception {
        Map<ConfigResource, Config> all = a.describeConfigs(List.of(r),
            new org.apache.kafka.clients.admin.DescribeConfigsOptions().includeSynonyms(true)).all().get();
        emit("configs", "label", label, "entries", configJson(all.get(r)));
    }

    static AlterConfigOp op(String key, String value, AlterConfigOp.OpType type) {
        return new AlterConfigOp(new ConfigEntry(key, value), type);
    }

    @SuppressWarnings("deprecation")
    static Object legacyAlterConfigs(Admin a, ConfigResource r, Map<String, String> configs) throws Exception {
        List<ConfigEntry> entries = new ArrayList<>();
        configs.forEach((k, v) -> entries.add(new ConfigEntry(k, v)));
        return a.alterConfigs(Map.of(r, new Config(entries))).all().get();
    }

    static void adminConfigs(String bs, String topic) throws Exception {
        try (Admin a = admin(bs)) {
            createTopic(a, topic, 1, Map.of("retention.ms", "86400000"));
            ConfigResource tr = new ConfigResource(ConfigResource.Type.TOPIC, topic);
            describeConfigsEvent(a, tr, "created");
            describeConfigsEvent(a, new ConfigResource(ConfigResource.Type.BROKER, "1"), "broker");

            step("alter", () -> a.incrementalAlterConfigs(Map.of(tr, List.of(
                op("retention.ms", "7200000", AlterConfigOp.OpType.SET),
                op("max.message.bytes", "2000000", AlterConfigOp.OpType.SET),
                op("cleanup.policy", "compact", AlterConfigOp.OpType.APPEND)))).all().get());
            describeConfigsEvent(a, tr, "altered");

            step("invalid_value", () -> a.incrementalAlterConfigs(Map.of(tr, List.of(
                op("retention.ms", "not-a-number", AlterConfigOp.OpType.SET)))).all().get());
            step("invalid_enum", () -> a.incrementalAlterConfigs(Map.of(tr, List.of(
                op("cleanup.policy", "sometimes", AlterConfigOp.OpType.SET)))).all().get());
            step("unknown_key", () -> a.incrementalAlterConfigs(Map.of(tr, List.of(
                op("no.such.config", "1", AlterConfigOp.OpType.SET)))).all().get());
            step("validate_only", () -> a.incrementalAlterConfigs(Map.of(tr, List.of(
                op("retention.ms", "1000", AlterConfigOp.OpType.SET))), new AlterConfigsOptions().validateOnly(true)).all().get());
            step("unknown_topic", () -> a.incrementalAlterConfigs(Map.of(
                new ConfigResource(ConfigResource.Type.TOPIC, "jt-nope"),
                List.of(op("retention.ms", "1000", AlterConfigOp.OpType.SET)))).all().get());
            describeConfigsEvent(a, tr, "after_refused");

            step("delete_and_subtract", () -> a.incrementalAlterConfigs(Map.of(tr, List.of(
                op("retention.ms", null, AlterConfigOp.OpType.DELETE),
                op("cleanup.policy", "compact", AlterConfigOp.OpType.SUBTRACT)))).all().get());
            describeConfigsEvent(a, tr, "reverted");
            // The legacy AlterConfigs replaces every dynamic config of the resource with the given set.
            step("legacy_alter_configs", () -> legacyAlterConfigs(a, tr, Map.of("retention.ms", "3600000")));
            describeConfigsEvent(a, tr, "legacy_altered");
            step("describe_unknown_topic", () -> a.describeConfigs(List.of(
                new ConfigResource(ConfigResource.Type.TOPIC, "jt-nope"))).all().get());
        }
    }

    // ---------------------------------------------------------------- admin: list offsets, delete records

    static void listOffsetsEvent(Admin a, TopicPartition p, String label, OffsetSpec spec, IsolationLevel iso)
            throws Exception {
        ListOffsetsResult.ListOffsetsResultInfo info =
            a.listOffsets(Map.of(p, spec), new ListOffsetsOptions(iso)).partitionResult(p).get();
        emit("list_offsets", "spec", label, "offset", info.offset(), "timestamp", info.timestamp(),
             "leader_epoch", info.leaderEpoch());
    }

    static void offsets(String bs, String topic) throws Exception {
        TopicPartition p = new TopicPartition(topic, 0);
        long base = System.currentTimeMillis() - 600_000;
        emit("base", "timestamp", base);
        try (Admin a = admin(bs)) {
            createTopic(a, topic, 1, Map.of());
            try (KafkaProducer<byte[], byte[]> prod = producer(bs)) {
                for (int i = 0; i < 10; i++) {
                    long ts = base + (i == 6 ? 20_000 : i * 1000L);
                    RecordMetadata m = prod.send(new ProducerRecord<>(topic, 0, ts, bytes("k" + i), bytes("v" + i))).get();
                    emit("sent", "meta", metaJson(m));
                }
            }
            IsolationLevel ru = IsolationLevel.READ_UNCOMMITTED;
            listOffsetsEvent(a, p, "earliest", OffsetSpec.earliest(), ru);
            listOffsetsEvent(a, p, "latest", OffsetSpec.latest(), ru);
            listOffsetsEvent(a, p, "latest_committed", OffsetSpec.latest(), IsolationLevel.READ_COMMITTED);
            listOffsetsEvent(a, p, "max_timestamp", OffsetSpec.maxTimestamp(), ru);
            listOffsetsEvent(a, p, "ts_3500", OffsetSpec.forTimestamp(base + 3500), ru);
            listOffsetsEvent(a, p, "ts_10000", OffsetSpec.forTimestamp(base + 10_000), ru);
            listOffsetsEvent(a, p, "ts_0", OffsetSpec.forTimestamp(base), ru);
            listOffsetsEvent(a, p, "ts_after", OffsetSpec.forTimestamp(base + 99_000), ru);
            listOffsetsEvent(a, p, "earliest_local", OffsetSpec.earliestLocal(), ru);
            listOffsetsEvent(a, p, "latest_tiered", OffsetSpec.latestTiered(), ru);
            Object low = step("delete_records_4", () ->
                a.deleteRecords(Map.of(p, RecordsToDelete.beforeOffset(4))).lowWatermarks().get(p).get().lowWatermark());
            emit("low_watermark", "label", "delete_4", "offset", low);
            step("delete_records_beyond_end", () ->
                a.deleteRecords(Map.of(p, RecordsToDelete.beforeOffset(50))).all().get());
            listOffsetsEvent(a, p, "earliest_after_delete", OffsetSpec.earliest(), ru);
            listOffsetsEvent(a, p, "ts_0_after_delete", OffsetSpec.forTimestamp(base), ru);
            listOffsetsEvent(a, p, "max_timestamp_after_delete", OffsetSpec.maxTimestamp(), ru);
            listOffsetsEvent(a, p, "earliest_local_after_delete", OffsetSpec.earliestLocal(), ru);
            try (KafkaConsumer<byte[], byte[]> c = consumer(bs)) {
                c.assign(List.of(p));
                c.seekToBeginning(List.of(p));
                for (ConsumerRecord<byte[], byte[]> r : pollN(c, 10 - 4)) emit("record", "record", recordJson(r));
                emit("consumer_offsets", "beginning", c.beginningOffsets(List.of(p)).get(p),
                     "end", c.endOffsets(List.of(p)).get(p));
                Map<TopicPartition, OffsetAndTimestamp> byTime = c.offsetsForTimes(Map.of(p, base + 3500));
                emit("offsets_for_times", "offset", byTime.get(p) == null ? null : byTime.get(p).offset(),
                     "timestamp", byTime.get(p) == null ? null : byTime.get(p).timestamp());
            }
            // Kafka's DeleteRecords offset -1 means "up to the high watermark".
            Object low2 = step("delete_records_to_high_watermark", () ->
                a.deleteRecords(Map.of(p, RecordsToDelete.beforeOffset(-1))).lowWatermarks().get(p).get().lowWatermark());
            emit("low_watermark", "label", "delete_to_high_watermark", "offset", low2);
            listOffsetsEvent(a, p, "earliest_after_delete_all", OffsetSpec.earliest(), ru);
            listOffsetsEvent(a, p, "latest_after_delete_all", OffsetSpec.latest(), ru);
        }
    }

    // ---------------------------------------------------------------- admin: consumer groups

    static Map<String, Object> groupJson(ConsumerGroupDescription d) {
        List<Object> members = new ArrayList<>();
        for (MemberDescription m : d.members()) {
            members.add(obj("member_id", m.consumerId(), "client_id", m.clientId(), "host", m.host(),
                            "instance_id", m.groupInstanceId(), "assignment", tps(m.assignment().topicPartitions()),
                            "target_assignment", m.targetAssignment().map(t -> tps(t.topicPartitions())).orElse(null)));
        }
        return obj("group", d.groupId(), "state", d.state().toString(), "type", d.type().toString(),
                   "assignor", d.partitionAssignor(), "simple", d.isSimpleConsumerGroup(),
                   "coordinator", d.coordinator() == null ? null : d.coordinator().id(), "members", members);
    }

    static void groupEvents(Admin a, String group, String label) throws Exception {
        List<Object> listed = new ArrayList<>();
        for (ConsumerGroupListing l : a.listConsumerGroups().all().get()) {
            listed.add(obj("group", l.groupId(), "state", l.state().map(Object::toString).orElse(null),
                           "type", l.type().map(Object::toString).orElse(null), "simple", l.isSimpleConsumerGroup()));
        }
        emit("groups_listed", "label", label, "groups", listed);
        emit("group_described", "label", label, "description",
             groupJson(a.describeConsumerGroups(List.of(group)).all().get().get(group)));
        Map<TopicPartition, OffsetAndMetadata> offs = a.listConsumerGroupOffsets(group).partitionsToOffsetAndMetadata().get();
        Map<String, Object> committed = new TreeMap<>();
        offs.forEach((p, o) -> committed.put(tp(p), o == null ? null : obj("offset", o.offset(), "metadata", o.metadata())));
        emit("group_offsets", "label", label, "offsets", committed);
    }

    static void adminGroups(String bs, String topic, String group) throws Exception {
        TopicPartition p0 = new TopicPartition(topic, 0), p1 = new TopicPartition(topic, 1);
        try (Admin a = admin(bs)) {
            createTopic(a, topic, 2, Map.of());
            try (KafkaProducer<byte[], byte[]> prod = producer(bs)) {
                for (int i = 0; i < 6; i++) send(prod, topic, i % 2, "k" + i, "v" + i);
            }
            try (KafkaConsumer<byte[], byte[]> c = consumer(bs, "group.id", group, "client.id", "java-group-member")) {
                c.subscribe(List.of(topic));
                List<ConsumerRecord<byte[], byte[]>> got = pollN(c, 6);
                for (ConsumerRecord<byte[], byte[]> r : got) emit("record", "reader", "member", "record", recordJson(r));
                c.commitSync(Map.of(p0, new OffsetAndMetadata(3, "m0"), p1, new OffsetAndMetadata(3, "m1")));
                groupEvents(a, group, "active");
                step("alter_offsets_while_active", () ->
                    a.alterConsumerGroupOffsets(group, Map.of(p0, new OffsetAndMetadata(0))).all().get());
                step("delete_group_while_active", () -> a.deleteConsumerGroups(List.of(group)).all().get());
                step("delete_offsets_while_subscribed", () ->
                    a.deleteConsumerGroupOffsets(group, Set.of(p0)).all().get());
            }
            groupEvents(a, group, "empty");
            Map<String, Boolean> internal = new TreeMap<>();
            for (TopicListing l : a.listTopics(new ListTopicsOptions().listInternal(true)).listings().get()) {
                internal.put(l.name(), l.isInternal());
            }
            emit("list_internal", "topics", internal);
            step("alter_offsets", () -> a.alterConsumerGroupOffsets(group, Map.of(
                p0, new OffsetAndMetadata(1, "reset"), p1, new OffsetAndMetadata(2))).all().get());
            step("alter_offsets_unknown_partition", () -> a.alterConsumerGroupOffsets(group, Map.of(
                new TopicPartition(topic, 9), new OffsetAndMetadata(1))).all().get());
            groupEvents(a, group, "altered");
            try (KafkaConsumer<byte[], byte[]> c = consumer(bs, "group.id", group)) {
                c.subscribe(List.of(topic));
                for (ConsumerRecord<byte[], byte[]> r : pollN(c, 3)) emit("record", "reader", "after_alter", "record", recordJson(r));
            }
            step("delete_offsets_p1", () -> a.deleteConsumerGroupOffsets(group, Set.of(p1)).all().get());
            groupEvents(a, group, "offset_deleted");
            step("delete_group", () -> a.deleteConsumerGroups(List.of(group)).all().get());
            emit("groups_after_delete", "groups",
                 a.listConsumerGroups().all().get().stream().map(ConsumerGroupListing::groupId).sorted()
                     .collect(Collectors.toList()));
            emit("offsets_after_delete", "offsets",
                 tps(a.listConsumerGroupOffsets(group).partitionsToOffsetAndMetadata().get().keySet()));
            step("delete_group_again", () -> a.deleteConsumerGroups(List.of(group)).all().get());
            Object dead = step("describe_deleted_group", () ->
                a.describeConsumerGroups(List.of(group)).all().get().get(group).state().toString());
            emit("deleted_group_state", "state", dead);
        }
    }

    // ---------------------------------------------------------------- admin: log dirs

    static void logDirs(String bs, String topic) throws Exception {
        try (Admin a = admin(bs)) {
            createTopic(a, topic, 2, Map.of());
            try (KafkaProducer<byte[], byte[]> prod = producer(bs)) {
                for (int i = 0; i < 5; i++) send(prod, topic, 0, "k" + i, "value-" + i);
            }
            Map<Integer, Map<String, LogDirDescription>> all = a.describeLogDirs(List.of(1)).allDescriptions().get();
            for (Map.Entry<Integer, Map<String, LogDirDescription>> broker : all.entrySet()) {
                for (Map.Entry<String, LogDirDescription> dir : broker.getValue().entrySet()) {
                    LogDirDescription d = dir.getValue();
                    Map<String, Object> replicas = new TreeMap<>();
                    for (Map.Entry<TopicPartition, ReplicaInfo> r : d.replicaInfos().entrySet()) {
                        replicas.put(tp(r.getKey()), obj("size", r.getValue().size(), "offset_lag", r.getValue().offsetLag(),
                                                         "future", r.getValue().isFuture()));
                    }
                    emit("log_dir", "broker", broker.getKey(), "path", dir.getKey(),
                         "error", d.error() == null ? null : d.error().getClass().getSimpleName(),
                         "total_bytes", d.totalBytes(), "usable_bytes", d.usableBytes(), "replicas", replicas);
                }
            }
            TopicPartitionReplica r0 = new TopicPartitionReplica(topic, 0, 1);
            DescribeReplicaLogDirsResult.ReplicaLogDirInfo info = a.describeReplicaLogDirs(List.of(r0)).all().get().get(r0);
            emit("replica_log_dir", "dir", info.getCurrentReplicaLogDir(), "lag", info.getCurrentReplicaOffsetLag(),
                 "future_dir", info.getFutureReplicaLogDir());
        }
    }

    // ---------------------------------------------------------------- admin: transactions and producers

    static void producersEvent(Admin a, List<TopicPartition> parts, String label) throws Exception {
        Map<TopicPartition, PartitionProducerState> states = a.describeProducers(parts).all().get();
        Map<String, Object> out = new TreeMap<>();
        for (Map.Entry<TopicPartition, PartitionProducerState> e : states.entrySet()) {
            List<Object> ps = new ArrayList<>();
            for (ProducerState s : e.getValue().activeProducers()) {
                ps.add(obj("producer_id", s.producerId(), "epoch", s.producerEpoch(), "last_sequence", s.lastSequence(),
                           "last_timestamp", s.lastTimestamp(), "coordinator_epoch", s.coordinatorEpoch(),
                           "txn_start_offset", s.currentTransactionStartOffset()));
            }
            ps.sort((x, y) -> Long.compare((Long) ((Map<?, ?>) x).get("producer_id"), (Long) ((Map<?, ?>) y).get("producer_id")));
            out.put(tp(e.getKey()), ps);
        }
        emit("producers", "label", label, "partitions", out);
    }

    static void transactionsEvent(Admin a, String txnId, String label) throws Exception {
        List<Object> listed = new ArrayList<>();
        for (TransactionListing l : a.listTransactions().all().get()) {
            listed.add(obj("id", l.transactionalId(), "producer_id", l.producerId(), "state", l.state().toString()));
        }
        emit("transactions_listed", "label", label, "transactions", listed);
        TransactionDescription d = a.describeTransactions(List.of(txnId)).all().get().get(txnId);
        emit("transaction_described", "label", label, "coordinator", d.coordinatorId(), "state", d.state().toString(),
             "producer_id", d.producerId(), "epoch", d.producerEpoch(), "timeout_ms", d.transactionTimeoutMs(),
             "start_time_ms", d.transactionStartTimeMs(), "partitions", tps(d.topicPartitions()));
    }

    static void txnAdmin(String bs, String topic, String txnId) throws Exception {
        TopicPartition p0 = new TopicPartition(topic, 0), p1 = new TopicPartition(topic, 1);
        List<TopicPartition> parts = List.of(p0, p1);
        try (Admin a = admin(bs)) {
            createTopic(a, topic, 2, Map.of());
            try (KafkaProducer<byte[], byte[]> idem = producer(bs, "enable.idempotence", "true", "acks", "all")) {
                for (int i = 0; i < 3; i++) emit("sent", "by", "idempotent", "meta", metaJson(send(idem, topic, 1, "i" + i, "idem-" + i)));
            }
            long before = System.currentTimeMillis();
            try (KafkaProducer<byte[], byte[]> tx = producer(bs, "transactional.id", txnId, "transaction.timeout.ms", "45000")) {
                tx.initTransactions();
                tx.beginTransaction();
                Future<RecordMetadata> f0 = tx.send(new ProducerRecord<>(topic, 0, bytes("t0"), bytes("txn-0")));
                Future<RecordMetadata> f1 = tx.send(new ProducerRecord<>(topic, 0, bytes("t1"), bytes("txn-1")));
                Future<RecordMetadata> f2 = tx.send(new ProducerRecord<>(topic, 1, bytes("t2"), bytes("txn-2")));
                tx.flush();
                for (Future<RecordMetadata> f : List.of(f0, f1, f2)) emit("sent", "by", "transactional", "meta", metaJson(f.get()));
                emit("window", "before_ms", before, "after_ms", System.currentTimeMillis());
                transactionsEvent(a, txnId, "ongoing");
                Collection<TransactionListing> ongoing = a.listTransactions(new ListTransactionsOptions().filterStates(
                    List.of(org.apache.kafka.clients.admin.TransactionState.ONGOING))).all().get();
                emit("transactions_filtered", "label", "ongoing_filter",
                     "ids", ongoing.stream().map(TransactionListing::transactionalId).sorted().collect(Collectors.toList()));
                producersEvent(a, parts, "ongoing");
                for (TopicPartition p : parts) {
                    listOffsetsEvent(a, p, tp(p) + "_latest_uncommitted", OffsetSpec.latest(), IsolationLevel.READ_UNCOMMITTED);
                    listOffsetsEvent(a, p, tp(p) + "_latest_committed", OffsetSpec.latest(), IsolationLevel.READ_COMMITTED);
                }
                tx.commitTransaction();
            }
            transactionsEvent(a, txnId, "committed");
            Collection<TransactionListing> ongoing = a.listTransactions(new ListTransactionsOptions().filterStates(
                List.of(org.apache.kafka.clients.admin.TransactionState.ONGOING))).all().get();
            emit("transactions_filtered", "label", "ongoing_filter_after_commit",
                 "ids", ongoing.stream().map(TransactionListing::transactionalId).sorted().collect(Collectors.toList()));
            producersEvent(a, parts, "committed");
            for (TopicPartition p : parts) {
                listOffsetsEvent(a, p, tp(p) + "_latest_committed_after_commit", OffsetSpec.latest(), IsolationLevel.READ_COMMITTED);
            }
            step("describe_unknown_transaction", () -> a.describeTransactions(List.of("jt-no-such-txn")).all().get());
        }
    }

    // ---------------------------------------------------------------- idempotent producer, every codec

    static String codecValue(String codec, int i) {
        return codec + "-value-" + i + "-" + "fjord".repeat(i % 40);
    }

    static Object producerMetric(KafkaProducer<byte[], byte[]> p, String name) {
        return p.metrics().entrySet().stream()
            .filter(e -> e.getKey().name().equals(name) && e.getKey().group().equals("producer-metrics"))
            .map(e -> e.getValue().metricValue()).findFirst().orElse(null);
    }

    static void produceCodec(String bs, String topic, String codec, int count) throws Exception {
        try (Admin a = admin(bs)) {
            createTopic(a, topic, 3, Map.of());
        }
        List<Future<RecordMetadata>> futures = new ArrayList<>();
        try (KafkaProducer<byte[], byte[]> p = producer(bs, "enable.idempotence", "true", "acks", "all",
                "compression.type", codec, "linger.ms", "20", "batch.size", "4096",
                "max.in.flight.requests.per.connection", "5", "client.id", "java-" + codec)) {
            for (int i = 0; i < count; i++) {
                String key = i % 10 == 9 ? null : "key-" + (i % 7);
                ProducerRecord<byte[], byte[]> r = new ProducerRecord<>(topic, i % 3, bytes(key), bytes(codecValue(codec, i)),
                    List.of(new RecordHeader("seq", bytes(Integer.toString(i))), new RecordHeader("codec", bytes(codec))));
                futures.add(p.send(r));
            }
            p.flush();
            for (int i = 0; i < count; i++) emit("sent", "seq", i, "meta", metaJson(futures.get(i).get()));
            emit("producer_metrics", "compression_rate_avg", producerMetric(p, "compression-rate-avg"),
                 "record_retry_total", producerMetric(p, "record-retry-total"),
                 "record_error_total", producerMetric(p, "record-error-total"));
        }
        try (KafkaConsumer<byte[], byte[]> c = consumer(bs)) {
            List<TopicPartition> parts = List.of(new TopicPartition(topic, 0), new TopicPartition(topic, 1),
                                                 new TopicPartition(topic, 2));
            c.assign(parts);
            c.seekToBeginning(parts);
            for (ConsumerRecord<byte[], byte[]> r : pollN(c, count)) emit("record", "record", recordJson(r));
        }
        try (Admin a = admin(bs)) {
            producersEvent(a, List.of(new TopicPartition(topic, 0), new TopicPartition(topic, 1), new TopicPartition(topic, 2)), "after");
        }
    }

    // ---------------------------------------------------------------- consumer groups: two members

    static final class Member implements Runnable, ConsumerRebalanceListener {
        final String name;
        final String bs, topic, group, protocol;
        final Set<TopicPartition> owned = ConcurrentHashMap.newKeySet();
        final AtomicBoolean stop = new AtomicBoolean();
        final AtomicBoolean joined = new AtomicBoolean();
        volatile int consumed;
        volatile Throwable failure;
        final Thread thread;

        Member(String name, String bs, String topic, String group, String protocol) {
            this.name = name;
            this.bs = bs;
            this.topic = topic;
            this.group = group;
            this.protocol = protocol;
            this.thread = new Thread(this, "member-" + name);
        }

        public void run() {
            List<String> extra = new ArrayList<>(List.of("group.id", group, "group.protocol", protocol,
                                                         "client.id", "java-" + name, "max.poll.records", "50"));
            if (protocol.equals("classic")) {
                extra.addAll(List.of("partition.assignment.strategy",
                                     "org.apache.kafka.clients.consumer.CooperativeStickyAssignor",
                                     "heartbeat.interval.ms", "300", "session.timeout.ms", "10000"));
            }
            try (KafkaConsumer<byte[], byte[]> c = consumer(bs, extra.toArray(new String[0]))) {
                c.subscribe(List.of(topic), this);
                while (!stop.get()) {
                    ConsumerRecords<byte[], byte[]> records = c.poll(Duration.ofMillis(100));
                    for (ConsumerRecord<byte[], byte[]> r : records) {
                        emit("record", "member", name, "record", recordJson(r));
                    }
                    if (!records.isEmpty()) {
                        c.commitSync();
                        consumed += records.count();
                    }
                }
            } catch (Throwable t) {
                failure = t;
                t.printStackTrace();
            }
            emit("member_closed", "member", name);
        }

        public void onPartitionsAssigned(Collection<TopicPartition> parts) {
            owned.addAll(parts);
            joined.set(true);
            emit("rebalance", "member", name, "kind", "assigned", "partitions", tps(parts), "owned", tps(owned));
        }

        public void onPartitionsRevoked(Collection<TopicPartition> parts) {
            owned.removeAll(parts);
            emit("rebalance", "member", name, "kind", "revoked", "partitions", tps(parts), "owned", tps(owned));
        }

        public void onPartitionsLost(Collection<TopicPartition> parts) {
            owned.removeAll(parts);
            emit("rebalance", "member", name, "kind", "lost", "partitions", tps(parts), "owned", tps(owned));
        }
    }

    static void produceRange(String bs, String topic, int from, int to, int partitions) throws Exception {
        try (KafkaProducer<byte[], byte[]> p = producer(bs, "enable.idempotence", "true", "acks", "all")) {
            List<Future<RecordMetadata>> fs = new ArrayList<>();
            for (int i = from; i < to; i++) fs.add(p.send(new ProducerRecord<>(topic, i % partitions, bytes("k" + i), bytes("v" + i))));
            p.flush();
            for (Future<RecordMetadata> f : fs) f.get();
        }
    }

    static void groupConsume(String bs, String topic, String group, int count, String protocol) throws Exception {
        int partitions = 4;
        try (Admin a = admin(bs)) {
            createTopic(a, topic, partitions, Map.of());
            Member ma = new Member("a", bs, topic, group, protocol);
            Member mb = new Member("b", bs, topic, group, protocol);
            ma.thread.start();
            waitFor("member a owns every partition", () -> ma.owned.size() == partitions);
            emit("phase", "name", "a_owns_all");
            produceRange(bs, topic, 0, count / 2, partitions);
            waitFor("member a consumed the first half", () -> ma.consumed >= count / 2);
            emit("phase", "name", "first_half_consumed");
            mb.thread.start();
            waitFor("the two members split the partitions", () ->
                mb.owned.size() == partitions / 2 && ma.owned.size() == partitions / 2);
            emit("phase", "name", "split", "a", tps(ma.owned), "b", tps(mb.owned));
            produceRange(bs, topic, count / 2, count, partitions);
            waitFor("both halves consumed", () -> ma.consumed + mb.consumed >= count);
            Thread.sleep(1000); // a duplicate delivery would show up here
            emit("phase", "name", "all_consumed", "a", ma.consumed, "b", mb.consumed);
            groupEvents(a, group, "two_members");
            ma.stop.set(true);
            mb.stop.set(true);
            ma.thread.join(WAIT_MS);
            mb.thread.join(WAIT_MS);
            if (ma.failure != null) throw new RuntimeException("member a failed", ma.failure);
            if (mb.failure != null) throw new RuntimeException("member b failed", mb.failure);
            groupEvents(a, group, "closed");
        }
    }

    // ---------------------------------------------------------------- transactions

    static void transactions(String bs, String topic, String in, String out, String group) throws Exception {
        try (Admin a = admin(bs)) {
            createTopic(a, topic, 2, Map.of());
            createTopic(a, in, 1, Map.of());
            createTopic(a, out, 1, Map.of());
        }
        try (KafkaProducer<byte[], byte[]> tx = producer(bs, "transactional.id", "jt-txn", "transaction.timeout.ms", "30000")) {
            tx.initTransactions();
            for (String[] t : new String[][] {{"a", "commit"}, {"b", "abort"}, {"c", "commit"}}) {
                tx.beginTransaction();
                List<Future<RecordMetadata>> fs = new ArrayList<>();
                for (int part = 0; part < 2; part++) {
                    fs.add(tx.send(new ProducerRecord<>(topic, part, bytes(t[0] + part), bytes(t[0] + part))));
                }
                tx.flush();
                for (Future<RecordMetadata> f : fs) emit("sent", "txn", t[0], "meta", metaJson(f.get()));
                if (t[1].equals("commit")) tx.commitTransaction();
                else tx.abortTransaction();
                emit("txn_end", "txn", t[0], "outcome", t[1]);
            }
        }
        readAll(bs, topic, "read_committed", 4, "read_committed");
        readAll(bs, topic, "read_uncommitted", 6, "read_uncommitted");

        consumeTransformProduce(bs, in, out, group, "classic");
        consumeTransformProduce(bs, in, out + "-848", group + "-848", "consumer");
    }

    /** Consume-transform-produce: offsets sent with the transaction are committed only when it commits. The input
     *  topic holds in-0..in-3 after the first call. */
    static void consumeTransformProduce(String bs, String in, String out, String group, String protocol) throws Exception {
        try (Admin a = admin(bs)) {
            if (!protocol.equals("classic")) createTopic(a, out, 1, Map.of());
        }
        TopicPartition inP = new TopicPartition(in, 0);
        if (protocol.equals("classic")) {
            try (KafkaProducer<byte[], byte[]> plain = producer(bs)) {
                for (int i = 0; i < 4; i++) send(plain, in, 0, "in" + i, "in-" + i);
            }
        }
        try (Admin a = admin(bs);
             KafkaConsumer<byte[], byte[]> c = consumer(bs, "group.id", group, "isolation.level", "read_committed",
                                                        "group.protocol", protocol);
             KafkaProducer<byte[], byte[]> tx = producer(bs, "transactional.id", "jt-ctp-" + protocol,
                                                         "transaction.timeout.ms", "30000")) {
            c.subscribe(List.of(in));
            List<ConsumerRecord<byte[], byte[]>> input = pollN(c, 4);
            emit("ctp_input", "protocol", protocol, "values", input.stream().map(r -> str(r.value())).collect(Collectors.toList()),
                 "generation", c.groupMetadata().generationId(), "member_id", c.groupMetadata().memberId());
            tx.initTransactions();

            tx.beginTransaction();
            for (ConsumerRecord<byte[], byte[]> r : input.subList(0, 2)) {
                tx.send(new ProducerRecord<>(out, 0, r.key(), bytes(str(r.value()).toUpperCase())));
            }
            tx.sendOffsetsToTransaction(Map.of(inP, new OffsetAndMetadata(2)), c.groupMetadata());
            tx.flush(); // abortTransaction drops batches not sent yet: flush so the aborted records take offsets 0-1
            tx.abortTransaction();
            Map<TopicPartition, OffsetAndMetadata> afterAbort = a.listConsumerGroupOffsets(group).partitionsToOffsetAndMetadata().get();
            emit("ctp_committed", "protocol", protocol, "label", "after_abort",
                 "offset", afterAbort.get(inP) == null ? null : afterAbort.get(inP).offset());

            tx.beginTransaction();
            for (ConsumerRecord<byte[], byte[]> r : input) {
                tx.send(new ProducerRecord<>(out, 0, r.key(), bytes(str(r.value()).toUpperCase())));
            }
            tx.sendOffsetsToTransaction(Map.of(inP, new OffsetAndMetadata(4, "ctp")), c.groupMetadata());
            tx.commitTransaction();
            Map<TopicPartition, OffsetAndMetadata> afterCommit = a.listConsumerGroupOffsets(group).partitionsToOffsetAndMetadata().get();
            emit("ctp_committed", "protocol", protocol, "label", "after_commit",
                 "offset", afterCommit.get(inP) == null ? null : afterCommit.get(inP).offset(),
                 "metadata", afterCommit.get(inP) == null ? null : afterCommit.get(inP).metadata());
            OffsetAndMetadata seen = c.committed(Set.of(inP)).get(inP);
            emit("ctp_committed", "protocol", protocol, "label", "consumer_view", "offset", seen == null ? null : seen.offset());
        }
        readAll(bs, out, "read_committed", 4, "out_read_committed_" + protocol);
    }

    static void fencing(String bs, String topic, String txnId) throws Exception {
        try (Admin a = admin(bs)) {
            createTopic(a, topic, 1, Map.of());
        }
        KafkaProducer<byte[], byte[]> first = producer(bs, "transactional.id", txnId, "client.id", "java-first");
        first.initTransactions();
        first.beginTransaction();
        emit("sent", "by", "first", "meta", metaJson(first.send(new ProducerRecord<>(topic, 0, bytes("f"), bytes("first-0"))).get()));
        try (KafkaProducer<byte[], byte[]> second = producer(bs, "transactional.id", txnId, "client.id", "java-second")) {
            second.initTransactions();
            emit("phase", "name", "second_initialized");
            step("first_commit", () -> {
                first.commitTransaction();
                return null;
            });
            step("first_send_after_fence", () -> first.send(new ProducerRecord<>(topic, 0, bytes("f"), bytes("first-1"))).get());
            first.close(Duration.ofSeconds(5));
            second.beginTransaction();
            emit("sent", "by", "second", "meta", metaJson(second.send(new ProducerRecord<>(topic, 0, bytes("s"), bytes("second-0"))).get()));
            second.commitTransaction();
        }
        readAll(bs, topic, "read_committed", 1, "read_committed");
        readAll(bs, topic, "read_uncommitted", 2, "read_uncommitted");
    }

    // ---------------------------------------------------------------- large records

    static void largeRecord(String bs, String topic, String smallTopic) throws Exception {
        try (Admin a = admin(bs)) {
            createTopic(a, topic, 1, Map.of());
            createTopic(a, smallTopic, 1, Map.of("max.message.bytes", "512000"));
        }
        Random rnd = new Random(848);
        byte[] big = new byte[900 * 1024];
        rnd.nextBytes(big);
        byte[] tooBigForTopic = new byte[1200 * 1024];
        rnd.nextBytes(tooBigForTopic);
        emit("payload", "len", big.length, "sha256", sha256(big));
        try (KafkaProducer<byte[], byte[]> p = producer(bs, "max.request.size", "2097152", "client.id", "java-large")) {
            step("send_900k", () -> {
                emit("sent", "meta", metaJson(p.send(new ProducerRecord<>(topic, 0, bytes("big"), big)).get()));
                return null;
            });
            step("send_small_after", () -> {
                emit("sent", "meta", metaJson(p.send(new ProducerRecord<>(topic, 0, bytes("small"), bytes("after"))).get()));
                return null;
            });
            step("send_900k_to_small_topic", () -> p.send(new ProducerRecord<>(smallTopic, 0, bytes("big"), big)).get());
            step("send_1200k_over_topic_default", () -> p.send(new ProducerRecord<>(topic, 0, bytes("huge"), tooBigForTopic)).get());
            step("send_small_to_small_topic", () -> {
                emit("sent", "meta", metaJson(p.send(new ProducerRecord<>(smallTopic, 0, bytes("s"), bytes("fits"))).get()));
                return null;
            });
        }
        try (KafkaProducer<byte[], byte[]> p = producer(bs, "client.id", "java-default-limit")) {
            step("send_1200k_over_producer_limit", () -> p.send(new ProducerRecord<>(topic, 0, bytes("huge"), tooBigForTopic)).get());
        }
        readAll(bs, topic, "read_uncommitted", 2, "large");
        // KIP-74: the first batch comes whole even when it is larger than the fetch limits.
        readAll(bs, topic, "read_uncommitted", 2, "large_small_fetch", "max.partition.fetch.bytes", "65536",
                "fetch.max.bytes", "65536");
        readAll(bs, smallTopic, "read_uncommitted", 1, "small_topic");
    }
}
