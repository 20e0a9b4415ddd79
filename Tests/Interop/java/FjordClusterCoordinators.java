import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;

/** The Java client against a cluster whose group and transaction coordinators are on a broker that leads none of the
 *  topic's partitions (test_cluster_coordinators.py): a group of two members consumes and commits everything
 *  produced; a transaction commits and another aborts; a read_committed reader sees only the committed one. Uses the
 *  helpers of FjordJavaScenarios (same classpath); prints one JSON event per line, "done" last.
 *  Arguments: bootstrap topic partitions group transactional-id count. */
public class FjordClusterCoordinators {
    public static void main(String[] a) throws Exception {
        String bs = a[0], topic = a[1], group = a[3], txnId = a[4];
        int partitions = Integer.parseInt(a[2]), count = Integer.parseInt(a[5]);
        groupConsume(bs, topic, group, count);
        transactions(bs, topic, txnId);
        readCommitted(bs, topic, partitions);
        FjordJavaScenarios.emit("done");
    }

    static void groupConsume(String bs, String topic, String group, int count) throws Exception {
        List<KafkaConsumer<byte[], byte[]>> members = new ArrayList<>();
        for (String name : List.of("ja", "jb")) {
            KafkaConsumer<byte[], byte[]> c = FjordJavaScenarios.consumer(bs, "group.id", group, "client.id", name);
            c.subscribe(List.of(topic));
            members.add(c);
        }
        long deadline = System.currentTimeMillis() + 40_000;
        while (members.stream().anyMatch(c -> c.assignment().isEmpty()) && System.currentTimeMillis() < deadline) {
            for (KafkaConsumer<byte[], byte[]> c : members) c.poll(Duration.ofMillis(100));
        }
        FjordJavaScenarios.emit("assigned", "a", members.get(0).assignment().size(), "b", members.get(1).assignment().size());
        try (KafkaProducer<byte[], byte[]> p = FjordJavaScenarios.producer(bs, "acks", "all")) {
            for (int i = 0; i < count; i++) p.send(new ProducerRecord<>(topic, FjordJavaScenarios.bytes("j" + i)));
        }
        List<List<String>> got = List.of(new ArrayList<>(), new ArrayList<>());
        while (got.get(0).size() + got.get(1).size() < count && System.currentTimeMillis() < deadline) {
            for (int m = 0; m < 2; m++) {
                for (ConsumerRecord<byte[], byte[]> r : members.get(m).poll(Duration.ofMillis(100))) {
                    got.get(m).add(FjordJavaScenarios.str(r.value()));
                }
                members.get(m).commitSync();
            }
        }
        Map<TopicPartition, org.apache.kafka.clients.consumer.OffsetAndMetadata> committed =
            members.get(0).committed(members.get(0).assignment());
        FjordJavaScenarios.emit("group_consumed", "a", got.get(0), "b", got.get(1),
            "committed_a", committed.values().stream().mapToLong(o -> o == null ? -1 : o.offset()).sum());
        for (KafkaConsumer<byte[], byte[]> c : members) c.close();
    }

    static void transactions(String bs, String topic, String txnId) throws Exception {
        try (KafkaProducer<byte[], byte[]> tx = FjordJavaScenarios.producer(bs, "transactional.id", txnId)) {
            tx.initTransactions();
            for (String kind : List.of("jc", "jx")) {
                tx.beginTransaction();
                for (int i = 0; i < 10; i++) tx.send(new ProducerRecord<>(topic, FjordJavaScenarios.bytes(kind + i)));
                tx.flush();
                if (kind.equals("jc")) tx.commitTransaction(); else tx.abortTransaction();
                FjordJavaScenarios.emit("txn_end", "kind", kind);
            }
        }
    }

    static void readCommitted(String bs, String topic, int partitions) throws Exception {
        List<TopicPartition> parts = new ArrayList<>();
        for (int p = 0; p < partitions; p++) parts.add(new TopicPartition(topic, p));
        try (KafkaConsumer<byte[], byte[]> c = FjordJavaScenarios.consumer(bs, "isolation.level", "read_committed")) {
            c.assign(parts);
            c.seekToBeginning(parts);
            Map<TopicPartition, Long> end = c.endOffsets(parts);
            List<String> values = new ArrayList<>();
            long deadline = System.currentTimeMillis() + 40_000;
            while (parts.stream().anyMatch(p -> c.position(p) < end.get(p)) && System.currentTimeMillis() < deadline) {
                for (ConsumerRecord<byte[], byte[]> r : c.poll(Duration.ofMillis(200))) values.add(FjordJavaScenarios.str(r.value()));
            }
            FjordJavaScenarios.emit("read_committed", "values", values);
        }
    }
}
