"""Export trained encoders and generators to TensorFlow Serving's layout.

SERVING_ROOT/<name>_encoder/<version>/   SavedModel, serving_default: images -> z
SERVING_ROOT/<name>_generator/<version>/ SavedModel, serving_default: z -> images
SERVING_ROOT/models.config               model_config_list naming every model there
"""

from export.serving import export_network, export_run, write_models_config

__all__ = ["export_network", "export_run", "write_models_config"]
