"""fastbp's MLPs as River online learners: progressive validation on River's bundled streams.

    python examples/river_stream.py      # needs River: pip install "fastbp[river]"
"""
from river import datasets, evaluate, metrics, preprocessing

import fastbp.river


def main():
    results = {}
    for name, ds, model, metric in [
            ("Phishing", datasets.Phishing(), fastbp.river.MLPClassifier(seed=0), metrics.Accuracy()),
            ("Bananas", datasets.Bananas(), fastbp.river.MLPClassifier(seed=0), metrics.Accuracy()),
            ("TrumpApproval", datasets.TrumpApproval(), fastbp.river.MLPRegressor(seed=0), metrics.MAE())]:
        pipeline = preprocessing.StandardScaler() | model  # learn_one / predict_one per example
        results[name] = evaluate.progressive_val_score(ds, pipeline, metric).get()
        print(f"{name:14s} {metric.__class__.__name__:8s} {results[name]:.4f}")
    return results


if __name__ == "__main__":
    main()
