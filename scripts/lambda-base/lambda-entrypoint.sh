#!/bin/sh
# /lambda-entrypoint.sh of the stand-in base image (scripts/lambda-base), with the same
# contract as the one in public.ecr.aws/lambda/python:3.13: one argument, the handler
# (CMD of the function image, e.g. "handler.handler"). Outside Lambda, i.e. when
# AWS_LAMBDA_RUNTIME_API is unset, the runtime is run under the Runtime Interface
# Emulator, which serves POST /2015-03-31/functions/function/invocations on :8080.
if [ $# -ne 1 ]; then
  echo "entrypoint requires the handler name to be the first argument" 1>&2
  exit 142
fi
export _HANDLER="$1"

RUNTIME_ENTRYPOINT=/var/runtime/bootstrap
if [ -z "${AWS_LAMBDA_RUNTIME_API}" ]; then
  exec /usr/local/bin/aws-lambda-rie "$RUNTIME_ENTRYPOINT"
else
  exec "$RUNTIME_ENTRYPOINT"
fi
