//! The machine-learning core: the Synergos JSON layer spec, run
//! hyper-parameters, local training with FedAvg/FedProx, sample-weighted
//! aggregation and evaluation metrics.
