#!/usr/bin/env python3
"""Topic administration for the client tests, with confluent-kafka's AdminClient.

usage: admin.py create BOOTSTRAP TOPIC PARTITIONS     create (exists already: error)
       admin.py partitions BOOTSTRAP TOPIC            print the partition count from Metadata
       admin.py committed BOOTSTRAP GROUP TOPIC       print {"partition": offset} committed by GROUP
                                                      for TOPIC (OffsetFetch), as one JSON line
"""
import json
import sys

from confluent_kafka import ConsumerGroupTopicPartitions, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic


def main() -> int:
    cmd, bootstrap, topic = sys.argv[1], sys.argv[2], sys.argv[3]
    admin = AdminClient({"bootstrap.servers": bootstrap})
    if cmd == "create":
        partitions = int(sys.argv[4])
        futures = admin.create_topics([NewTopic(topic, partitions, 1)], operation_timeout=30)
        futures[topic].result(timeout=60)
        return 0
    if cmd == "partitions":
        md = admin.list_topics(topic, timeout=30)
        t = md.topics[topic]
        if t.error is not None:
            print(t.error, file=sys.stderr)
            return 1
        print(len(t.partitions))
        return 0
    if cmd == "committed":
        group, topic = sys.argv[3], sys.argv[4]
        n = len(admin.list_topics(topic, timeout=30).topics[topic].partitions)
        request = ConsumerGroupTopicPartitions(group, [TopicPartition(topic, p) for p in range(n)])
        result = admin.list_consumer_group_offsets([request])[group].result(timeout=60)
        print(json.dumps({str(tp.partition): tp.offset for tp in result.topic_partitions}))
        return 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
