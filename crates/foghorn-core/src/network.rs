//! Is it them or is it us? On a laptop the most common "outage" is the laptop itself: a
//! closed lid, a train tunnel, a captive portal. Before a failure may page anyone, the engine
//! asks this module whether the local network is the likelier culprit.
//!
//! Three signals, cheapest first: the machine just woke from sleep (the wall clock jumped
//! ahead of the monotonic clock, which stops while suspended), there is no default route,
//! or unrelated hosts that were fine a moment ago are unreachable too.

use std::fmt::Debug;
use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime};

/// After a wake-up, failures are not trusted for this long: Wi-Fi and VPNs take a while.
pub const WAKE_GRACE: Duration = Duration::from_secs(60);
/// A wall-clock jump larger than the monotonic one by this much means the machine slept.
const SLEEP_JUMP: Duration = Duration::from_secs(15);
/// How long a cross-check of other hosts is trusted before it is repeated.
const CROSS_CHECK_TTL: Duration = Duration::from_secs(15);
/// Unrelated hosts probed by a cross-check.
pub const CROSS_CHECK_HOSTS: usize = 3;
/// Time allowed for each connection of a cross-check.
const CROSS_CHECK_TIMEOUT: Duration = Duration::from_secs(3);

/// What the operating system says about connectivity. Platform-specific: the Linux
/// implementation reads the routing table; elsewhere it cannot tell (yet) and says so.
pub trait LocalNetwork: Send + Sync + Debug {
    /// `Some(false)` when the machine has no route to anywhere; `None` when unknown.
    fn has_default_route(&self) -> Option<bool>;
}

/// The real machine.
#[derive(Debug, Default)]
pub struct SystemNetwork;

impl LocalNetwork for SystemNetwork {
    #[cfg(target_os = "linux")]
    fn has_default_route(&self) -> Option<bool> {
        let v4 = std::fs::read_to_string("/proc/net/route").ok();
        let v6 = std::fs::read_to_string("/proc/net/ipv6_route").ok();
        if v4.is_none() && v6.is_none() {
            return None;
        }
        Some(
            v4.as_deref().is_some_and(ipv4_default_route)
                || v6.as_deref().is_some_and(ipv6_default_route),
        )
    }

    #[cfg(not(target_os = "linux"))]
    fn has_default_route(&self) -> Option<bool> {
        None
    }
}

/// Whether `/proc/net/route` lists a usable default route (destination and mask zero, flag
/// RTF_UP) on an interface other than loopback.
pub fn ipv4_default_route(table: &str) -> bool {
    table.lines().skip(1).any(|line| {
        let f: Vec<&str> = line.split_whitespace().collect();
        f.len() >= 8
            && f[0] != "lo"
            && f[1] == "00000000"
            && f[7] == "00000000"
            && u32::from_str_radix(f[3], 16).is_ok_and(|flags| flags & 0x1 != 0)
    })
}

/// Whether `/proc/net/ipv6_route` lists `::/0` via an interface other than loopback with
/// RTF_UP and without RTF_REJECT (the kernel's unreachable placeholder).
pub fn ipv6_default_route(table: &str) -> bool {
    table.lines().any(|line| {
        let f: Vec<&str> = line.split_whitespace().collect();
        f.len() >= 10
            && f[0].chars().all(|c| c == '0')
            && f[1] == "00"
            && f[9] != "lo"
            && u32::from_str_radix(f[8], 16)
                .is_ok_and(|flags| flags & 0x1 != 0 && flags & 0x0200 == 0)
    })
}

/// Notices the machine waking from sleep by comparing the two clocks.
#[derive(Debug)]
pub struct SleepDetector {
    last_wall: SystemTime,
    last_mono: Instant,
    woke_at: Option<Instant>,
}

impl SleepDetector {
    pub fn new(wall: SystemTime, mono: Instant) -> Self {
        Self {
            last_wall: wall,
            last_mono: mono,
            woke_at: None,
        }
    }

    /// Records a tick; returns true when the wall clock ran ahead of the monotonic clock by
    /// more than a sleep's worth since the last tick.
    pub fn observe(&mut self, wall: SystemTime, mono: Instant) -> bool {
        let wall_delta = wall.duration_since(self.last_wall).unwrap_or_default();
        let mono_delta = mono.saturating_duration_since(self.last_mono);
        self.last_wall = wall;
        self.last_mono = mono;
        let slept = wall_delta.saturating_sub(mono_delta) > SLEEP_JUMP;
        if slept {
            self.woke_at = Some(mono);
        }
        slept
    }

    /// Whether `now` is within the grace period after a wake-up.
    pub fn waking(&self, now: Instant) -> bool {
        self.woke_at
            .is_some_and(|w| now.saturating_duration_since(w) < WAKE_GRACE)
    }
}

/// The engine's view of the local network: the OS signal, the sleep detector and a cached
/// cross-check of other hosts.
#[derive(Debug)]
pub struct NetworkGuard {
    os: std::sync::Arc<dyn LocalNetwork>,
    sleep: Mutex<SleepDetector>,
    cross_check: Mutex<Option<(Instant, Option<String>)>>,
}

impl NetworkGuard {
    pub fn new(os: std::sync::Arc<dyn LocalNetwork>) -> Self {
        Self {
            os,
            sleep: Mutex::new(SleepDetector::new(SystemTime::now(), Instant::now())),
            cross_check: Mutex::new(None),
        }
    }

    /// Feeds the sleep detector; returns true right after a wake-up.
    pub fn tick(&self) -> bool {
        lock(&self.sleep).observe(SystemTime::now(), Instant::now())
    }

    pub fn waking(&self) -> bool {
        lock(&self.sleep).waking(Instant::now())
    }

    /// Why the local network, not the target, is to blame for an unreachable target, if it
    /// is. `others` are `(host, port)` of unrelated targets believed to be up; they are only
    /// probed when the cheap signals say nothing.
    pub async fn local_problem(&self, others: Vec<(String, u16)>) -> Option<String> {
        if self.waking() {
            return Some("this computer just woke up; waiting for the network".to_owned());
        }
        if self.os.has_default_route() == Some(false) {
            return Some("this computer has no network connection".to_owned());
        }
        if others.len() < 2 {
            return None;
        }
        if let Some((at, verdict)) = lock(&self.cross_check).clone() {
            if at.elapsed() < CROSS_CHECK_TTL {
                return verdict;
            }
        }
        let mut probes = tokio::task::JoinSet::new();
        for (host, port) in others.into_iter().take(CROSS_CHECK_HOSTS) {
            probes.spawn(async move {
                tokio::time::timeout(
                    CROSS_CHECK_TIMEOUT,
                    tokio::net::TcpStream::connect((host.as_str(), port)),
                )
                .await
                .is_ok_and(|c| c.is_ok())
            });
        }
        let results = probes.join_all().await;
        let verdict = (!results.iter().any(|ok| *ok)).then(|| {
            format!(
                "local network down: {} unrelated hosts are unreachable too",
                results.len()
            )
        });
        *lock(&self.cross_check) = Some((Instant::now(), verdict.clone()));
        verdict
    }

    /// Forgets the cross-check, e.g. after a success proved the network works.
    pub fn network_works(&self) {
        let mut cached = lock(&self.cross_check);
        if cached.as_ref().is_some_and(|(_, v)| v.is_some()) {
            *cached = None;
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    const ROUTE_HEADER: &str =
        "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\n";

    #[test]
    fn ipv4_routes() {
        let with_default = format!(
            "{ROUTE_HEADER}wlan0\t00000000\t0102A8C0\t0003\t0\t0\t600\t00000000\t0\t0\t0\n\
             wlan0\t0002A8C0\t00000000\t0001\t0\t0\t600\t00FFFFFF\t0\t0\t0\n"
        );
        assert!(ipv4_default_route(&with_default));
        let local_only = format!(
            "{ROUTE_HEADER}wlan0\t0002A8C0\t00000000\t0001\t0\t0\t600\t00FFFFFF\t0\t0\t0\n"
        );
        assert!(!ipv4_default_route(&local_only));
        assert!(!ipv4_default_route(ROUTE_HEADER));
        let down = format!(
            "{ROUTE_HEADER}wlan0\t00000000\t0102A8C0\t0002\t0\t0\t600\t00000000\t0\t0\t0\n"
        );
        assert!(
            !ipv4_default_route(&down),
            "a route without RTF_UP is no route"
        );
    }

    #[test]
    fn ipv6_routes() {
        let default = "00000000000000000000000000000000 00 00000000000000000000000000000000 00 fe800000000000000000000000000001 00000400 00000001 00000000 00000003 wlan0\n";
        assert!(ipv6_default_route(default));
        let unreachable = "00000000000000000000000000000000 00 00000000000000000000000000000000 00 00000000000000000000000000000000 ffffffff 00000001 00000000 00200200 lo\n";
        assert!(!ipv6_default_route(unreachable));
        let link_local = "fe800000000000000000000000000000 40 00000000000000000000000000000000 00 00000000000000000000000000000000 00000100 00000001 00000000 00000001 wlan0\n";
        assert!(!ipv6_default_route(link_local));
    }

    #[test]
    fn a_wall_clock_jump_is_a_wake_up_and_its_grace_ends() {
        let wall = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000);
        let mono = Instant::now();
        let mut d = SleepDetector::new(wall, mono);
        // Ordinary ticks: both clocks advance together (with a little NTP slew).
        assert!(!d.observe(wall + Duration::from_secs(5), mono + Duration::from_secs(5)));
        assert!(!d.observe(
            wall + Duration::from_secs(11),
            mono + Duration::from_secs(10)
        ));
        assert!(!d.waking(mono + Duration::from_secs(10)));
        // Lid closed for an hour: the monotonic clock stood still.
        let woke = mono + Duration::from_secs(15);
        assert!(d.observe(wall + Duration::from_secs(3615), woke));
        assert!(d.waking(woke + Duration::from_secs(30)));
        assert!(!d.waking(woke + WAKE_GRACE + Duration::from_secs(1)));
        // The wall clock set backwards is not a wake-up.
        assert!(!d.observe(wall, woke + Duration::from_secs(20)));
    }

    #[derive(Debug)]
    struct NoRoute;
    impl LocalNetwork for NoRoute {
        fn has_default_route(&self) -> Option<bool> {
            Some(false)
        }
    }

    #[derive(Debug)]
    struct Unknown;
    impl LocalNetwork for Unknown {
        fn has_default_route(&self) -> Option<bool> {
            None
        }
    }

    #[tokio::test]
    async fn no_route_blames_the_network() {
        let guard = NetworkGuard::new(std::sync::Arc::new(NoRoute));
        let why = guard.local_problem(vec![]).await.expect("blamed");
        assert!(why.contains("no network connection"), "{why}");
    }

    #[tokio::test]
    async fn unrelated_hosts_decide_when_the_os_cannot() {
        let guard = NetworkGuard::new(std::sync::Arc::new(Unknown));
        // One other host is not enough evidence either way.
        assert_eq!(
            guard.local_problem(vec![("127.0.0.1".into(), 1)]).await,
            None
        );
        // Two unrelated hosts refusing too: the network is the common factor.
        let a = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let b = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let (pa, pb) = (
            a.local_addr().expect("addr").port(),
            b.local_addr().expect("addr").port(),
        );
        drop((a, b));
        let why = guard
            .local_problem(vec![("127.0.0.1".into(), pa), ("127.0.0.1".into(), pb)])
            .await
            .expect("blamed");
        assert!(why.contains("unrelated hosts"), "{why}");
        // A reachable host clears it once the cached verdict is forgotten.
        guard.network_works();
        let up = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let pu = up.local_addr().expect("addr").port();
        assert_eq!(
            guard
                .local_problem(vec![("127.0.0.1".into(), pu), ("127.0.0.1".into(), pa)])
                .await,
            None
        );
    }
}
