"""The fleet as Prometheus already sees it: gitward's textfile metrics, read back through the
HTTP API (``/api/v1/query``), one row per instance.

gitward has no fleet protocol of its own and never fans out over ssh: node_exporter serves each
host's ``gitward.prom``, Prometheus scrapes it, and this module asks Prometheus. urllib only (no
new dependency). Credentials come from the config file and never appear in a message: errors
name the URL with its userinfo redacted, never a header.

Everything that comes back (instance names, repo paths, codes) is untrusted text; callers escape
it before showing it. ``ssh_command`` refuses a host name that ssh would read as an option.
"""

from __future__ import annotations

import base64
import http.client
import json
import re
import socket
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass, field

from tui.core.config import DEFAULT_FLEET_COMMAND, PrometheusConfig
from tui.core.model import Severity
from tui.core.redact import redact_url

DEFAULT_TIMEOUT_SECONDS = 10.0
MAX_RESPONSE_BYTES = 64 * 1024 * 1024
# Hosts that stopped reporting stay listed (as stale) this long after their last sample.
LOOKBACK = "1d"
WORST_CODES_SHOWN = 3


class FleetError(Exception):
    """Prometheus could not answer the question; the message is one line, safe to print."""

    exit_code = 2


class PrometheusUnreachable(FleetError):
    """No HTTP answer: connection refused, DNS, TLS, timeout."""


class QueryFailed(FleetError):
    """Prometheus answered with an error (bad query, refused credentials, not Prometheus)."""


class EmptyFleet(FleetError):
    """Prometheus answered, but knows no host that reports gitward metrics."""

    exit_code = 1


# --- the HTTP API ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Sample:
    labels: dict[str, str]
    value: float


@dataclass(frozen=True, slots=True)
class QueryResult:
    time: float  # Prometheus's evaluation time (its clock, not ours)
    samples: list[Sample]


class PrometheusClient:
    def __init__(self, url: str, settings: PrometheusConfig | None = None, timeout: float = DEFAULT_TIMEOUT_SECONDS) -> None:
        if not url.startswith(("http://", "https://")):
            raise FleetError(f"{redact_url(url)}: a Prometheus URL starts with http:// or https://")
        self.url = url.rstrip("/")
        self.shown_url = redact_url(self.url)
        self.timeout = timeout
        self._authorization = _authorization(settings or PrometheusConfig())

    def query(self, expr: str) -> QueryResult:
        """One instant vector query."""
        address = f"{self.url}/api/v1/query?" + urllib.parse.urlencode({"query": expr})
        request = urllib.request.Request(address, headers={"Accept": "application/json"})
        if self._authorization:
            request.add_unredirected_header("Authorization", self._authorization)
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                body = response.read(MAX_RESPONSE_BYTES + 1)
        except urllib.error.HTTPError as exc:
            raise QueryFailed(self._http_error(exc)) from None
        except urllib.error.URLError as exc:
            reason = exc.reason.strerror if isinstance(exc.reason, OSError) and exc.reason.strerror else exc.reason
            raise PrometheusUnreachable(f"cannot reach Prometheus at {self.shown_url}: {reason}") from None
        except (TimeoutError, socket.timeout):
            raise PrometheusUnreachable(f"Prometheus at {self.shown_url} did not answer within {self.timeout:g} s") from None
        except OSError as exc:
            raise PrometheusUnreachable(f"cannot reach Prometheus at {self.shown_url}: {exc.strerror or exc}") from None
        except (http.client.HTTPException, ValueError) as exc:  # not HTTP at all; a malformed URL
            raise PrometheusUnreachable(f"cannot talk HTTP to {self.shown_url}: {type(exc).__name__}") from None
        if len(body) > MAX_RESPONSE_BYTES:
            raise QueryFailed(f"Prometheus at {self.shown_url}: answer larger than {MAX_RESPONSE_BYTES // (1024 * 1024)} MiB")
        return self._parse(body)

    def _http_error(self, exc: urllib.error.HTTPError) -> str:
        if exc.code in (401, 403):
            return f"Prometheus at {self.shown_url} refused the credentials (HTTP {exc.code}); check [prometheus] in the config"
        try:
            document = json.loads(exc.read(1024 * 1024))
            detail = f"{document.get('errorType', 'error')}: {document['error']}"
        except (ValueError, KeyError, TypeError, AttributeError, OSError):
            detail = f"HTTP {exc.code} {exc.reason}"
        return f"Prometheus at {self.shown_url}: query failed: {detail}"

    def _parse(self, body: bytes) -> QueryResult:
        try:
            document = json.loads(body)
            if document.get("status") != "success":
                raise QueryFailed(f"Prometheus at {self.shown_url}: query failed: {document.get('errorType')}: {document.get('error')}")
            data = document["data"]
            if data["resultType"] != "vector":
                raise QueryFailed(f"Prometheus at {self.shown_url}: expected a vector, got {data['resultType']}")
            samples = []
            evaluated = 0.0
            for item in data["result"]:
                when, value = item["value"]
                evaluated = float(when)
                samples.append(Sample({str(k): str(v) for k, v in item["metric"].items()}, float(value)))
        except FleetError:
            raise
        except (ValueError, KeyError, TypeError, AttributeError):
            raise QueryFailed(f"{self.shown_url} did not answer like Prometheus's /api/v1/query") from None
        return QueryResult(evaluated, samples)


def _authorization(settings: PrometheusConfig) -> str | None:
    token = settings.bearer_token or _read_secret(settings.bearer_token_file, "bearer_token_file")
    if token:
        return f"Bearer {token}"
    if settings.username:
        password = settings.password or _read_secret(settings.password_file, "password_file") or ""
        pair = f"{settings.username}:{password}".encode()
        return "Basic " + base64.b64encode(pair).decode("ascii")
    return None


def _read_secret(path: str | None, key: str) -> str | None:
    if path is None:
        return None
    try:
        with open(path, encoding="utf-8") as handle:
            return handle.read().strip()
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else "not readable text"
        raise FleetError(f"prometheus.{key} {path}: {reason}") from None


# --- the fleet -------------------------------------------------------------------------------


@dataclass(slots=True)
class GitSyncRoot:
    root: str
    link_changed: float | None = None  # Unix time of git-sync's last link swap
    stale_worktrees: int | None = None

    def to_json(self, now: float) -> dict:
        return {
            "root": self.root,
            "link_change_timestamp_seconds": self.link_changed,
            "link_age_seconds": None if self.link_changed is None else round(max(0.0, now - self.link_changed), 1),
            "stale_worktrees": self.stale_worktrees,
        }


@dataclass(frozen=True, slots=True)
class CodeCount:
    code: str
    severity: str
    count: int

    def to_json(self) -> dict:
        return {"code": self.code, "severity": self.severity, "count": self.count}


@dataclass(slots=True)
class FleetHost:
    instance: str
    last_success: float | None = None
    scan_age_seconds: float | None = None
    stale: bool = False
    version: str | None = None
    problems: dict[str, int] = field(default_factory=lambda: {s.value: 0 for s in Severity})
    codes: list[CodeCount] = field(default_factory=list)  # worst first
    gitsync_roots: list[GitSyncRoot] = field(default_factory=list)
    compare: dict[str, dict[str, int]] = field(default_factory=dict)  # replica -> class -> count

    @property
    def host(self) -> str:
        return host_of(self.instance)

    @property
    def worst(self) -> str | None:
        for severity in ("error", "warning", "info"):
            if self.problems.get(severity):
                return severity
        return None

    @property
    def faulted(self) -> bool:
        """What ``f`` (faults only) keeps: errors, warnings, a stale scan, compare differences."""
        return bool(
            self.problems.get("error") or self.problems.get("warning") or self.stale
            or any(count for classes in self.compare.values() for count in classes.values())
        )  # fmt: skip

    def worst_codes(self, limit: int = WORST_CODES_SHOWN) -> list[CodeCount]:
        return self.codes[:limit]

    # One-line summaries, the same in the CLI table and the console (raw: escape before showing).

    def codes_text(self) -> str:
        return ", ".join(f"{c.code}×{c.count}" for c in self.worst_codes()) or "-"

    def gitsync_text(self) -> str:
        return ", ".join(f"{g.root} ({g.stale_worktrees or 0} stale)" for g in self.gitsync_roots) or "-"

    def compare_text(self) -> str:
        parts = []
        for replica, classes in sorted(self.compare.items()):
            total = sum(classes.values())
            parts.append(f"{replica}: {total} differences" if total else f"{replica}: same")
        return ", ".join(parts) or "-"

    def to_json(self, now: float) -> dict:
        return {
            "instance": self.instance,
            "host": self.host,
            "version": self.version,
            "last_success_timestamp_seconds": self.last_success,
            "scan_age_seconds": None if self.scan_age_seconds is None else round(self.scan_age_seconds, 1),
            "stale": self.stale,
            "problems": dict(self.problems),
            "codes": [c.to_json() for c in self.codes],
            "gitsync_roots": [g.to_json(now) for g in self.gitsync_roots],
            "compare": [
                {"replica": replica, "class": klass, "differences": count}
                for replica, classes in sorted(self.compare.items())
                for klass, count in sorted(classes.items())
            ],
        }


@dataclass(slots=True)
class Fleet:
    url: str  # redacted
    time: float  # Prometheus's evaluation time
    hosts: list[FleetHost]
    stale_after_seconds: float

    def to_json(self) -> dict:
        return {
            "prometheus": self.url,
            "time": self.time,
            "stale_after_seconds": self.stale_after_seconds,
            "hosts": [h.to_json(self.time) for h in self.hosts],
        }


_SEVERITY_RANK = {s.value: s.rank for s in Severity}


def read_fleet(client: PrometheusClient, stale_after_seconds: float = 3600.0) -> Fleet:
    """Ask Prometheus for every instance that reports gitward metrics."""
    last = client.query(f"max by (instance) (last_over_time(gitward_scan_last_success_timestamp_seconds[{LOOKBACK}]))")
    if not last.samples:
        raise EmptyFleet(
            f"Prometheus at {client.shown_url} has no gitward metrics "
            "(gitward_scan_last_success_timestamp_seconds): is node_exporter's textfile collector "
            "reading gitward.prom, and does Prometheus scrape that node_exporter?"
        )
    now = last.time
    hosts: dict[str, FleetHost] = {}
    for sample in last.samples:
        instance = sample.labels.get("instance", "")
        age = max(0.0, now - sample.value)
        hosts[instance] = FleetHost(instance, sample.value, age, age > stale_after_seconds)

    def each(expr: str):
        for sample in client.query(expr).samples:
            host = hosts.get(sample.labels.get("instance", ""))
            if host is not None:
                yield host, sample

    for host, sample in each("max by (instance, severity) (gitward_host_problems)"):
        severity = sample.labels.get("severity", "")
        if severity in host.problems:
            host.problems[severity] = int(sample.value)
    codes: dict[str, dict[tuple[str, str], int]] = {}
    for host, sample in each("sum by (instance, code, severity) (gitward_problems)"):
        key = (sample.labels.get("code", ""), sample.labels.get("severity", ""))
        codes.setdefault(host.instance, {})[key] = int(sample.value)
    for instance, counts in codes.items():
        ordered = sorted(counts.items(), key=lambda item: (-_SEVERITY_RANK.get(item[0][1], 0), -item[1], item[0][0]))
        hosts[instance].codes = [CodeCount(code, severity, count) for (code, severity), count in ordered]
    roots: dict[tuple[str, str], GitSyncRoot] = {}
    for host, sample in each("max by (instance, root) (gitward_gitsync_link_change_timestamp_seconds)"):
        root = roots.setdefault((host.instance, sample.labels.get("root", "")), GitSyncRoot(sample.labels.get("root", "")))
        root.link_changed = sample.value
    for host, sample in each("max by (instance, root) (gitward_gitsync_stale_worktrees)"):
        root = roots.setdefault((host.instance, sample.labels.get("root", "")), GitSyncRoot(sample.labels.get("root", "")))
        root.stale_worktrees = int(sample.value)
    for (instance, _), root in sorted(roots.items()):
        hosts[instance].gitsync_roots.append(root)
    for host, sample in each("max by (instance, replica, class) (gitward_compare_differences)"):
        host.compare.setdefault(sample.labels.get("replica", ""), {})[sample.labels.get("class", "")] = int(sample.value)
    for host, sample in each("max by (instance, version) (gitward_build_info)"):
        host.version = sample.labels.get("version")
    ordered_hosts = sorted(hosts.values(), key=_host_order)
    return Fleet(client.shown_url, now, ordered_hosts, stale_after_seconds)


def _host_order(host: FleetHost) -> tuple:
    # Worst first: errors, then stale scans, then warnings; then by name.
    return (-host.problems.get("error", 0), not host.stale, -host.problems.get("warning", 0), host.instance)


# --- ssh -------------------------------------------------------------------------------------

_PORT = re.compile(r":\d+$")
# What a host name or address may look like; nothing ssh could read as an option or a shell would
# split. Instances come from Prometheus labels: untrusted.
_SAFE_HOST = re.compile(r"[A-Za-z0-9_.:%\[\]-]+")


def host_of(instance: str) -> str:
    """``host:9100`` -> ``host``; ``[::1]:9100`` -> ``::1``; ``host`` -> ``host``."""
    if instance.startswith("[") and "]" in instance:
        return instance[1 : instance.index("]")]
    if instance.count(":") == 1:
        return _PORT.sub("", instance)
    return instance


def ssh_command(host: FleetHost, template: Sequence[str] = DEFAULT_FLEET_COMMAND) -> list[str]:
    """The argv Enter runs for ``host``: ``{host}`` and ``{instance}`` filled in (no shell).
    Raises FleetError for a name ssh would take as an option (``-oProxyCommand=...``)."""
    name = host.host
    for text in (name, host.instance):
        if not text or text.startswith("-") or not _SAFE_HOST.fullmatch(text):
            raise FleetError(f"refusing to connect to {text!r}: not a plain host name")
    return [item.replace("{host}", name).replace("{instance}", host.instance) for item in template]
