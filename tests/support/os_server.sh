#!/usr/bin/env bash
# Real OpenSearch 3 for tests and CI, started exactly like Elasticsearch (es_server.sh with ENGINE=opensearch):
# integ-test zip via mvn, user interdict-os under /opt/interdict-os, a free loopback port, 384m heap.
#   os_server.sh start|stop|url
ENGINE=opensearch exec bash "$(dirname "$0")/es_server.sh" "$@"
