"""A Spark Connect server for the tests: local mode with the Connect plugin on the port given, which is
what a cluster's ``sbin/start-connect-server.sh`` starts (pyspark's own distribution carries the
plugin from Spark 4). Prints ``ready`` once it listens, and stops when its standard input closes.

    python tests/spark_connect_server.py PORT
"""

import sys

from pyspark.sql import SparkSession

port = sys.argv[1]
spark = (SparkSession.builder.master("local[2]").appName("redservice-connect-server")
         .config("spark.plugins", "org.apache.spark.sql.connect.SparkConnectPlugin")
         .config("spark.connect.grpc.binding.port", port)
         .config("spark.ui.enabled", "false")
         .config("spark.sql.shuffle.partitions", "4")
         .config("spark.default.parallelism", "2")
         # the stores of the tests are small: compiling every query cost more than running it
         .config("spark.sql.codegen.wholeStage", "false")
         .getOrCreate())
spark.sparkContext.setLogLevel("ERROR")
print("ready", flush=True)
sys.stdin.read()
spark.stop()
