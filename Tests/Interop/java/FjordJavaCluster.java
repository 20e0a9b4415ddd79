// The official Apache Kafka Java client (kafka-clients 3.9.1) producing to and consuming from every partition of a
// topic whose leaders are spread over the brokers of a cluster, bootstrapped from ONE broker; for
// Tests/Interop/test_cluster_clients.py, which compiles this file with javac at test time.
//
//   java -cp <classes>:<kafka-clients.jar>:... FjordJavaCluster <bootstrap> <topic> <partitions> <records>
//
// Record i has key "k<i>", value "java-<i>" and goes to partition i % partitions (acks=all, idempotent). The
// consumer assigns every partition from the beginning (no group) and reads until it has as many records as were
// produced or 60 s pass. Output: one JSON object per line — {"event":"leader",...} per partition as the client's
// metadata has it, {"event":"sent",...} per acknowledged record, {"event":"record",...} per record read, and
// {"event":"done"} last. Any exception ends the program with exit status 1 and a stack trace on stderr.

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import java.util.concurrent.Future;

import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;

public final class FjordJavaCluster {
    public static void main(String[] args) throws Exception {
        if (args.length != 4) {
            System.err.println("usage: FjordJavaCluster <bootstrap> <topic> <partitions> <records>");
            System.exit(2);
        }
        String bootstrap = args[0];
        String topic = args[1];
        int partitions = Integer.parseInt(args[2]);
        int records = Integer.parseInt(args[3]);

        Properties p = new Properties();
        p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        p.put(ProducerConfig.ACKS_CONFIG, "all");
        p.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, "true");
        p.put(ProducerConfig.LINGER_MS_CONFIG, "5");
        p.put(ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG, "45000");
        p.put(ProducerConfig.REQUEST_TIMEOUT_MS_CONFIG, "20000");
        try (KafkaProducer<String, String> producer =
                new KafkaProducer<>(p, new StringSerializer(), new StringSerializer())) {
            for (PartitionInfo info : producer.partitionsFor(topic)) {
                emit("{\"event\":\"leader\",\"partition\":" + info.partition() + ",\"leader\":"
                        + (info.leader() == null ? -1 : info.leader().id()) + "}");
            }
            List<Future<RecordMetadata>> sent = new ArrayList<>();
            for (int i = 0; i < records; i++) {
                sent.add(producer.send(new ProducerRecord<>(topic, i % partitions, "k" + i, "java-" + i)));
            }
            producer.flush();
            for (Future<RecordMetadata> future : sent) {
                RecordMetadata metadata = future.get();
                emit("{\"event\":\"sent\",\"partition\":" + metadata.partition() + ",\"offset\":" + metadata.offset()
                        + "}");
            }
        }

        Properties c = new Properties();
        c.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        c.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
        c.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        c.put(ConsumerConfig.FETCH_MAX_WAIT_MS_CONFIG, "200");
        try (KafkaConsumer<String, String> consumer =
                new KafkaConsumer<>(c, new StringDeserializer(), new StringDeserializer())) {
            List<TopicPartition> assignment = new ArrayList<>();
            for (int i = 0; i < partitions; i++) {
                assignment.add(new TopicPartition(topic, i));
            }
            consumer.assign(assignment);
            consumer.seekToBeginning(assignment);
            int read = 0;
            long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
            while (read < records && System.nanoTime() < deadline) {
                for (ConsumerRecord<String, String> r : consumer.poll(Duration.ofMillis(500))) {
                    read++;
                    emit("{\"event\":\"record\",\"partition\":" + r.partition() + ",\"offset\":" + r.offset()
                            + ",\"key\":\"" + r.key() + "\",\"value\":\"" + r.value() + "\"}");
                }
            }
        }
        emit("{\"event\":\"done\"}");
        System.out.flush();
        System.exit(0);
    }

    private static void emit(String json) {
        System.out.println(json);
    }
}
