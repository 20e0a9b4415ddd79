// The official Apache Kafka Java client's Admin (kafka-clients 3.9.1) moving a partition's replicas on a Fjord
// cluster, as an application or Cruise Control would; for Tests/Interop/test_partition_reassignment.py, which
// compiles this file with javac at test time.
//
//   java -cp <classes>:<kafka-clients.jar>:... FjordJavaReassign <bootstrap> <topic> <partition> <replicas,...>
//
// Steps, one JSON object per line: {"event":"listed","count":N} (listPartitionReassignments before, for every
// partition), {"event":"cancel","error":"<class>"} (cancelling a move that is not there), {"event":"invalid",
// "error":"<class>"} (a target with an unknown broker), {"event":"started"} (alterPartitionReassignments),
// {"event":"progress","replicas":[..],"adding":[..],"removing":[..]} while the move runs, then
// {"event":"described","replicas":[..],"isr":[..],"leader":N} once it is complete (describeTopics), and
// {"event":"done"}. Any other exception ends the program with exit status 1 and a stack trace on stderr.

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import java.util.stream.Collectors;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.NewPartitionReassignment;
import org.apache.kafka.clients.admin.PartitionReassignment;
import org.apache.kafka.clients.admin.TopicDescription;
import org.apache.kafka.common.Node;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.TopicPartitionInfo;

public final class FjordJavaReassign {
    public static void main(String[] args) throws Exception {
        if (args.length != 4) {
            System.err.println("usage: FjordJavaReassign <bootstrap> <topic> <partition> <replicas,...>");
            System.exit(2);
        }
        TopicPartition partition = new TopicPartition(args[1], Integer.parseInt(args[2]));
        List<Integer> target = Arrays.stream(args[3].split(",")).map(Integer::parseInt).collect(Collectors.toList());
        Properties p = new Properties();
        p.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, args[0]);
        p.put(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, "60000");
        try (Admin admin = Admin.create(p)) {
            emit("{\"event\":\"listed\",\"count\":" + admin.listPartitionReassignments().reassignments().get().size()
                    + "}");
            emit("{\"event\":\"cancel\",\"error\":\"" + errorOf(admin, partition, Optional.empty()) + "\"}");
            List<Integer> unknown = new ArrayList<>(target);
            unknown.add(99);
            emit("{\"event\":\"invalid\",\"error\":\""
                    + errorOf(admin, partition, Optional.of(new NewPartitionReassignment(unknown))) + "\"}");

            admin.alterPartitionReassignments(
                    Map.of(partition, Optional.of(new NewPartitionReassignment(target)))).all().get();
            emit("{\"event\":\"started\"}");
            long deadline = System.nanoTime() + 60_000_000_000L;
            while (true) {
                Map<TopicPartition, PartitionReassignment> ongoing =
                        admin.listPartitionReassignments(Set.of(partition)).reassignments().get();
                PartitionReassignment move = ongoing.get(partition);
                if (move == null) {
                    break;
                }
                emit("{\"event\":\"progress\",\"replicas\":" + move.replicas() + ",\"adding\":"
                        + move.addingReplicas() + ",\"removing\":" + move.removingReplicas() + "}");
                if (System.nanoTime() > deadline) {
                    throw new IllegalStateException("the move is still in progress after 60 s");
                }
                Thread.sleep(200);
            }
            TopicDescription description =
                    admin.describeTopics(List.of(partition.topic())).allTopicNames().get().get(partition.topic());
            TopicPartitionInfo info = description.partitions().get(partition.partition());
            emit("{\"event\":\"described\",\"replicas\":" + ids(info.replicas()) + ",\"isr\":" + ids(info.isr())
                    + ",\"leader\":" + (info.leader() == null ? -1 : info.leader().id()) + "}");
        }
        emit("{\"event\":\"done\"}");
        System.out.flush();
        System.exit(0);
    }

    /** The class of the exception a reassignment request ends with, or "none". */
    private static String errorOf(Admin admin, TopicPartition partition, Optional<NewPartitionReassignment> target)
            throws InterruptedException {
        try {
            admin.alterPartitionReassignments(Map.of(partition, target)).all().get();
            return "none";
        } catch (ExecutionException e) {
            return e.getCause().getClass().getSimpleName();
        }
    }

    private static List<Integer> ids(List<Node> nodes) {
        return nodes.stream().map(Node::id).collect(Collectors.toList());
    }

    private static void emit(String json) {
        System.out.println(json);
    }
}
