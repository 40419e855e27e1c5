"""Assembles the local stack: moto, the template's resources, the API server and the stream poller."""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3

from local_stack.authorizer import LocalAuthorizer
from local_stack.event_source_mapping import stream_mappings
from local_stack.functions import FunctionSpec, InProcessFunction, WorkerPoolFunction
from local_stack.http_server import LocalApiGateway, LocalHttpServer
from local_stack.lambda_runtime import LOCAL_ACCOUNT_ID
from local_stack.moto_server import MotoServer
from local_stack.resources import NAME_PREFIX, REGION, aws_client_environment, create_resources, function_environment
from local_stack.routes import http_api_routes
from local_stack.stream_poller import StreamPoller
from local_stack.template import PROJECT_ROOT, load_template

log = logging.getLogger("local_stack")

API_FUNCTION_ID = "ApiFunction"
STREAM_FUNCTION_ID = "StreamFunction"
LAYER_PATH = PROJECT_ROOT / "layers" / "status_flags"
STATE_FILE_NAME = "stack.json"


@dataclass(frozen=True)
class StackOptions:
    host: str = "127.0.0.1"
    port: int = 3000
    moto_port: int = 5000
    api_workers: int = 4
    state_dir: Path = PROJECT_ROOT / ".local-stack"


def function_spec(template: dict[str, Any], function_id: str, environment: dict[str, str]) -> FunctionSpec:
    """Describe a template function for a local execution environment, with Lambda's code layout.

    Lambda puts the function's code first on the path and the layer's code after it.
    """
    global_properties = template.get("Globals", {}).get("Function", {})
    properties = {**global_properties, **template["Resources"][function_id]["Properties"]}
    code_path = str((PROJECT_ROOT / properties["CodeUri"]).resolve())
    return FunctionSpec(
        function_name=f"{NAME_PREFIX}{function_id}",
        handler=properties["Handler"],
        code_paths=(code_path, str(LAYER_PATH)),
        environment=environment,
        timeout_seconds=float(properties.get("Timeout", 3)),
        memory_limit_in_mb=int(properties.get("MemorySize", 128)),
    )


class LocalStack:
    """The whole service on loopback ports; ``start`` then ``stop``."""

    def __init__(self, options: StackOptions) -> None:
        self.options = options
        self.template = load_template()
        self.moto = MotoServer(options.host, options.moto_port)
        self.api_server: LocalHttpServer | None = None
        self.api_function: InProcessFunction | WorkerPoolFunction | None = None
        self.pollers: list[StreamPoller] = []
        self.resources: Any = None

    def start(self) -> None:
        self.moto.start()
        log.info("moto server started endpoint=%s", self.moto.endpoint_url)

        client_environment = aws_client_environment(self.moto.endpoint_url)
        os.environ.update(client_environment)
        dynamodb = boto3.client("dynamodb", region_name=REGION)
        sqs = boto3.client("sqs", region_name=REGION)
        events = boto3.client("events", region_name=REGION)
        self.resources = create_resources(dynamodb, sqs, events, self.template)

        api_environment = {**function_environment(self.template, API_FUNCTION_ID, self.resources), **client_environment}
        api_spec = function_spec(self.template, API_FUNCTION_ID, api_environment)
        if self.options.api_workers > 0:
            self.api_function = WorkerPoolFunction(api_spec, self.options.api_workers)
        else:
            self.api_function = InProcessFunction(api_spec)
        self.api_function.start()

        self._start_stream_poller(client_environment)

        routes = http_api_routes(self.template, API_FUNCTION_ID)
        authorizer = LocalAuthorizer(self.template, routes, self.options.state_dir)
        gateway = LocalApiGateway(routes, self.api_function, authorizer)
        self.api_server = LocalHttpServer(self.options.host, self.options.port, gateway)
        self.api_server.start()
        log.info(
            "api server started url=%s workers=%d routes=%s",
            self.api_server.base_url,
            self.options.api_workers,
            ", ".join(route.route_key for route in routes),
        )
        self._write_state_file()

    def _start_stream_poller(self, client_environment: dict[str, str]) -> None:
        """Run the stream function in this process, fed by one poller per DynamoDB event of the function."""
        mappings = stream_mappings(self.template, STREAM_FUNCTION_ID)
        if not mappings:
            return

        environment = {**function_environment(self.template, STREAM_FUNCTION_ID, self.resources), **client_environment}
        spec = function_spec(self.template, STREAM_FUNCTION_ID, environment)
        stream_function = InProcessFunction(spec)
        stream_function.start()
        function_arn = f"arn:aws:lambda:{REGION}:{LOCAL_ACCOUNT_ID}:function:{spec.function_name}"

        streams = boto3.client("dynamodbstreams", region_name=REGION)
        sqs = boto3.client("sqs", region_name=REGION)
        for mapping in mappings:
            queue_url = self.resources.queue_urls[mapping.on_failure_queue_id] if mapping.on_failure_queue_id else None
            poller = StreamPoller(
                mapping,
                streams_client=streams,
                sqs_client=sqs,
                stream_arn=self.resources.stream_arns[mapping.table_id],
                on_failure_queue_url=queue_url,
                function=stream_function,
                function_arn=function_arn,
                region=REGION,
            )
            poller.start()
            self.pollers.append(poller)

    def _write_state_file(self) -> None:
        assert self.api_server is not None
        self.options.state_dir.mkdir(parents=True, exist_ok=True)
        state = {
            "pid": os.getpid(),
            "api_url": self.api_server.base_url,
            "moto_endpoint": self.moto.endpoint_url,
            "tables": self.resources.table_names,
            "queues": self.resources.queue_urls,
            "event_buses": self.resources.event_bus_names,
        }
        self.state_file.write_text(json.dumps(state, indent=2) + "\n", encoding="utf-8")

    @property
    def state_file(self) -> Path:
        return self.options.state_dir / STATE_FILE_NAME

    def ready_lines(self) -> list[str]:
        assert self.api_server is not None
        lines = [f"local stack ready: API {self.api_server.base_url}, moto {self.moto.endpoint_url}"]
        for logical_id, name in self.resources.table_names.items():
            lines.append(f"  table {logical_id}: {name}")
        for logical_id, url in self.resources.queue_urls.items():
            lines.append(f"  queue {logical_id}: {url}")
        for logical_id, name in self.resources.event_bus_names.items():
            lines.append(f"  event bus {logical_id}: {name}")
        return lines

    def stop(self) -> None:
        """Stop accepting requests, then stop the poller, the workers and moto, in that order."""
        if self.api_server is not None:
            self.api_server.stop()
            log.info("api server stopped")
        for poller in self.pollers:
            poller.stop()
            log.info("stream poller stopped event=%s", poller.mapping.event_id)
        if self.api_function is not None:
            self.api_function.stop()
            log.info("api function stopped")
        self.moto.stop()
        log.info("moto server stopped")
        self.state_file.unlink(missing_ok=True)
