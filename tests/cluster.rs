//! The chat on a Directus cluster (PostgreSQL, Redis, two instances, HAProxy; see
//! xtask/src/cluster/): the fault suite's exchange (four headless clients in three rooms, see
//! tests/common/exchange.rs) across instances and while a part of the cluster fails. Nothing
//! lost, nothing doubled, each message in its room with its author. Rows go to the fault table.
//!
//! One cluster, its scenarios in turn (each cluster takes about a minute to start). Where the
//! packages cannot be installed (not root, no apt), the test says so and passes without them.

mod common;

use std::time::Duration;

use common::exchange::exchange;
use common::fault_table::report;
use xtask::testing::cluster::TestCluster;

#[test]
fn a_cluster_loses_nothing_when_an_instance_redis_or_postgresql_fails() {
    let cluster = match TestCluster::start(2, &[]) {
        Ok(cluster) => cluster,
        Err(why) => {
            eprintln!("SKIPPED: no Directus cluster on this machine: {why}");
            return;
        }
    };
    let instances = [cluster.instance_url(0), cluster.instance_url(1)];
    let balancer = [cluster.url()];
    let pause = Duration::from_millis(50);

    // Alice's clients on instance 1, Bob's on instance 2: every event crosses Redis.
    let outcome = exchange(&cluster, &instances, "cluster", 25, pause, true, |_| {});
    report("cluster: clients on two instances", 0, &outcome);

    // Instance 1 crashes mid-stream; its clients reconnect through the balancer to instance 2.
    let outcome = exchange(&cluster, &balancer, "cluster-kill", 40, pause, true, |n| {
        if n == 15 {
            cluster.kill_instance(0);
        }
    });
    report("cluster: instance SIGKILLed behind HAProxy", 1, &outcome);
    cluster.restart_instance(0);

    // Redis (the event bus) down for 2 s: events published meanwhile have no replay.
    let outcome = exchange(
        &cluster,
        &instances,
        "cluster-redis",
        40,
        pause,
        true,
        |n| {
            if n == 15 {
                cluster.restart_redis(Duration::from_secs(2));
            }
        },
    );
    report("cluster: Redis restarted", 1, &outcome);

    // PostgreSQL down for 2 s: writes and reads fail until it is back.
    let outcome = exchange(&cluster, &balancer, "cluster-pg", 40, pause, true, |n| {
        if n == 15 {
            cluster.restart_postgres(Duration::from_secs(2));
        }
    });
    report("cluster: PostgreSQL restarted", 1, &outcome);
}
