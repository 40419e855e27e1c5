"""The HTTP API routes that template.yaml declares on a function, and matching a request to one."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

from local_stack.template import resources_of_type

DEFAULT_ROUTE_KEY = "$default"
_PARAMETER = re.compile(r"\{([^{}]+?)(\+?)\}")


@dataclass(frozen=True)
class Route:
    """One HttpApi event of a function: its route key, path pattern and the raw Auth properties.

    ``auth`` is the event's own ``Auth`` property and ``api_auth`` the HttpApi resource's ``Auth``
    (DefaultAuthorizer, Authorizers), both exactly as the template writes them.
    """

    event_id: str
    method: str | None
    path: str | None
    auth: dict[str, Any] | None = None
    api_auth: dict[str, Any] | None = None
    pattern: re.Pattern[str] | None = field(default=None, compare=False)

    @property
    def route_key(self) -> str:
        if self.method is None or self.path is None:
            return DEFAULT_ROUTE_KEY
        return f"{self.method} {self.path}"

    @property
    def is_default(self) -> bool:
        return self.route_key == DEFAULT_ROUTE_KEY

    def specificity(self) -> tuple[int, int, int]:
        """Sort key for overlapping routes: literal text first, then fewer greedy parameters, then a method."""
        if self.path is None:
            return (-1, 0, 0)
        literal_length = len(_PARAMETER.sub("", self.path))
        greedy = sum(1 for match in _PARAMETER.finditer(self.path) if match.group(2))
        return (literal_length, -greedy, 0 if self.method == "ANY" else 1)


@dataclass(frozen=True)
class RouteMatch:
    route: Route
    path_parameters: dict[str, str]


def compile_path(path: str) -> re.Pattern[str]:
    """Compile a route path such as ``/flags/{flag_name}`` into a regex over the raw (encoded) request path.

    ``{name}`` matches one path segment and ``{name+}`` one or more segments.
    """
    pattern = ""
    position = 0
    for match in _PARAMETER.finditer(path):
        pattern += re.escape(path[position : match.start()])
        name, greedy = match.group(1), match.group(2)
        pattern += f"(?P<{name}>.+)" if greedy else f"(?P<{name}>[^/]+)"
        position = match.end()
    pattern += re.escape(path[position:])
    return re.compile(pattern)


def http_api_routes(template: dict[str, Any], function_id: str) -> list[Route]:
    """Read the HttpApi events of one function into routes, keeping their Auth properties."""
    apis = resources_of_type(template, "AWS::Serverless::HttpApi")
    function = template["Resources"][function_id]

    routes = []
    for event_id, event in function.get("Properties", {}).get("Events", {}).items():
        if event["Type"] != "HttpApi":
            continue
        properties = event.get("Properties", {})
        api_auth = _api_auth(apis, properties.get("ApiId"))
        path = properties.get("Path")
        method = properties.get("Method")
        if path is None or method is None:
            routes.append(Route(event_id, None, None, properties.get("Auth"), api_auth))
            continue

        method = method.upper()
        if method == "X-AMAZON-APIGATEWAY-ANY-METHOD":
            method = "ANY"
        routes.append(Route(event_id, method, path, properties.get("Auth"), api_auth, compile_path(path)))
    return routes


def _api_auth(apis: dict[str, dict[str, Any]], api_id: Any) -> dict[str, Any] | None:
    if isinstance(api_id, dict) and "Ref" in api_id and api_id["Ref"] in apis:
        return apis[api_id["Ref"]].get("Properties", {}).get("Auth")
    return None


def match_route(routes: list[Route], method: str, raw_path: str) -> RouteMatch | None:
    """Find the route for a request the way API Gateway does: the most specific match, else ``$default``.

    Path parameters are returned percent-decoded.
    """
    candidates = []
    for route in routes:
        if route.pattern is None:
            continue
        if route.method not in (method.upper(), "ANY"):
            continue
        path_match = route.pattern.fullmatch(raw_path)
        if path_match:
            candidates.append((route, path_match))

    if candidates:
        route, path_match = max(candidates, key=lambda candidate: candidate[0].specificity())
        parameters = {name: unquote(value) for name, value in path_match.groupdict().items()}
        return RouteMatch(route, parameters)

    for route in routes:
        if route.is_default:
            return RouteMatch(route, {})
    return None
