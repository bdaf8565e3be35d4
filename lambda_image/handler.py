"""Lambda entry point (the image's CMD names `handler.handler`).

Everything runs once, at init (with SnapStart: before the snapshot): the API of the model
package the image names is built around its artifact and warmed up
(serving.lambda_handler), and the SnapStart hooks are registered (serving.lifecycle).
"""

from serving import lifecycle
from serving.lambda_handler import api_from_environment

api = api_from_environment()
lifecycle.register_snapstart_hooks(api.logger)
handler = api.handler
