"""Churn and 30-day spend models: features, training, artifacts and lean serving.

Training-side modules (training, baselines' fitting, onnx export) import scikit-learn and
scipy where they are used; the serving side (features, predictor) needs only numpy and
onnxruntime, so the predict function stays small and starts fast.
"""
