// The official Apache Kafka Java client (kafka-clients 3.9.1) producing and consuming through a leader kill; for
// Tests/Interop/test_leader_elections.py, which compiles this file with javac at test time and SIGKILLs the
// partition's leader while it runs.
//
//   java -cp <classes>:<kafka-clients.jar>:... FjordJavaFailover <bootstrap> <topic> <stop-file>
//
// An idempotent acks=all producer sends record n (value "n") to partition 0 every 5 ms until <stop-file> exists;
// a consumer, assigned partition 0 from the beginning (no group), reads alongside. After the stop file appears the
// producer flushes and the consumer reads on until it has every acknowledged record (or 60 s pass).
// Output, one JSON object per line: {"event":"acked","n":..,"offset":..} per acknowledged record,
// {"event":"failed","n":..,"error":"<class>: <message>"} per record the producer gave up on,
// {"event":"record","n":..,"offset":..} per record read, {"event":"consumer-error",...} per exception out of
// poll(), and {"event":"done","acked":..,"read":..} last. The client's retriable errors (NOT_LEADER_OR_FOLLOWER,
// disconnects) stay inside it: a test asserts that none of them ever reaches the application.

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.time.Duration;
import java.util.Collections;
import java.util.Properties;
import java.util.concurrent.atomic.AtomicLong;

import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;

public final class FjordJavaFailover {
    /** The highest acknowledged offset + 1: what the consumer must reach before it stops. */
    private static final AtomicLong ackedEnd = new AtomicLong(0);

    public static void main(String[] args) throws Exception {
        if (args.length != 3) {
            System.err.println("usage: FjordJavaFailover <bootstrap> <topic> <stop-file>");
            System.exit(2);
        }
        String bootstrap = args[0];
        String topic = args[1];
        Path stopFile = Paths.get(args[2]);
        TopicPartition partition = new TopicPartition(topic, 0);

        Properties c = new Properties();
        c.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        c.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
        c.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        KafkaConsumer<String, String> consumer =
                new KafkaConsumer<>(c, new StringDeserializer(), new StringDeserializer());
        consumer.assign(Collections.singletonList(partition));
        consumer.seekToBeginning(Collections.singletonList(partition));
        long[] read = {0};
        long[] position = {0};
        boolean[] producing = {true};
        Thread reader = new Thread(() -> {
            long deadline = Long.MAX_VALUE;
            while (true) {
                synchronized (producing) {
                    if (!producing[0] && deadline == Long.MAX_VALUE) {
                        deadline = System.currentTimeMillis() + 60_000;
                    }
                }
                if (deadline != Long.MAX_VALUE
                        && (position[0] >= ackedEnd.get() || System.currentTimeMillis() > deadline)) {
                    break;
                }
                try {
                    for (ConsumerRecord<String, String> r : consumer.poll(Duration.ofMillis(200))) {
                        emit("{\"event\":\"record\",\"n\":" + r.value() + ",\"offset\":" + r.offset() + "}");
                        read[0]++;
                        position[0] = r.offset() + 1;
                    }
                } catch (Exception e) {
                    emit("{\"event\":\"consumer-error\",\"error\":" + quote(e.toString()) + "}");
                }
            }
            consumer.close();
        });
        reader.start();

        Properties p = new Properties();
        p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        p.put(ProducerConfig.ACKS_CONFIG, "all");
        p.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, "true");
        p.put(ProducerConfig.LINGER_MS_CONFIG, "5");
        p.put(ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG, "120000");
        p.put(ProducerConfig.REQUEST_TIMEOUT_MS_CONFIG, "10000");
        long acked;
        try (KafkaProducer<String, String> producer =
                new KafkaProducer<>(p, new StringSerializer(), new StringSerializer())) {
            AtomicLong ackedCount = new AtomicLong(0);
            for (long n = 0; !Files.exists(stopFile); n++) {
                final long number = n;
                producer.send(new ProducerRecord<>(topic, 0, null, Long.toString(n)), (metadata, error) -> {
                    if (error != null) {
                        emit("{\"event\":\"failed\",\"n\":" + number + ",\"error\":" + quote(error.toString()) + "}");
                    } else {
                        ackedEnd.accumulateAndGet(metadata.offset() + 1, Math::max);
                        ackedCount.incrementAndGet();
                        emit("{\"event\":\"acked\",\"n\":" + number + ",\"offset\":" + metadata.offset() + "}");
                    }
                });
                Thread.sleep(5);
            }
            producer.flush();
            acked = ackedCount.get();
        }
        synchronized (producing) {
            producing[0] = false;
        }
        reader.join();
        emit("{\"event\":\"done\",\"acked\":" + acked + ",\"read\":" + read[0] + "}");
    }

    private static String quote(String text) {
        return "\"" + text.replace("\\", "\\\\").replace("\"", "\\\"").replace("\n", " ") + "\"";
    }

    private static synchronized void emit(String line) {
        System.out.println(line);
        System.out.flush();
    }
}
