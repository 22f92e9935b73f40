"""The parameter documentation both estimators share (appended to their docstrings)."""

PARAMETERS = """
    Parameters
    ----------
    hidden_layer_sizes : int or tuple of int, default=(100,)
        Units of each hidden layer.
    activation : {'identity', 'logistic', 'tanh', 'relu', 'leaky_relu', 'elu', 'selu', 'gelu'}, default='relu'
        Hidden activation; the first four are scikit-learn's.
    solver : {'adam', 'sgd', 'adamw', 'nadam', 'rmsprop', 'adagrad', 'adadelta'}, default='adam'
        The ``eigengrad.optim`` optimizer (PyTorch's update rules). scikit-learn's 'lbfgs' is not offered.
    alpha : float, default=0.0001
        L2 penalty as scikit-learn: each batch's loss gets ``alpha / 2 * sum_l ||W_l||^2 / batch_size``
        (Linear weights only, no biases), i.e. a gradient ``alpha * W / batch_size``.
    batch_size : int or 'auto', default='auto'
        'auto' is ``min(200, n_samples)``; larger values are clipped to ``n_samples`` with a warning.
    learning_rate : {'constant', 'invscaling', 'adaptive', 'cosine', 'onecycle', 'step', 'exponential'}
        scikit-learn's three ('invscaling': ``lr = learning_rate_init / (t + 1) ** power_t`` after each
        epoch, t the samples seen; 'adaptive': divide by 5 each time the stopping rule fires, stop at
        1e-6), here for every solver (scikit-learn applies them to 'sgd' only), plus four
        ``eigengrad.optim.lr_scheduler`` schedules (options in ``scheduler_kwargs``): 'cosine'
        (``CosineAnnealingLR``, T_max=max_iter), 'onecycle' (``OneCycleLR`` per batch over max_iter epochs),
        'step' (``StepLR``, x0.1 every max_iter // 3 epochs), 'exponential' (``ExponentialLR``, gamma 0.95).
    learning_rate_init : float, default=0.001
    power_t : float, default=0.5
        Exponent of 'invscaling'.
    max_iter : int, default=200
        Maximum number of epochs.
    shuffle : bool, default=True
        Shuffle the samples every epoch.
    random_state : int, RandomState instance or None, default=None
        Seeds the initial weights, the shuffling, the dropout masks and the early-stopping split; an
        int makes fits reproducible (bitwise, on any number of threads).
    tol : float, default=1e-4
    n_iter_no_change : int, default=10
        Training stops when the training loss has not decreased by ``tol`` (or, with early stopping,
        the validation score has not increased by ``tol``) for more than ``n_iter_no_change`` epochs in
        a row; a ``ConvergenceWarning`` says when ``max_iter`` came first.
    verbose : bool, default=False
        Log the loss (and validation score) of every epoch on the ``eigengrad.sklearn`` logger.
    warm_start : bool, default=False
        Continue from the previous fit's weights (the optimizer starts afresh, as scikit-learn).
    momentum : float, default=0.9
        Momentum of 'sgd' (and 'rmsprop').
    nesterovs_momentum : bool, default=True
        Nesterov momentum for 'sgd' (when momentum > 0).
    early_stopping : bool, default=False
        Hold out ``validation_fraction`` of the data (stratified for classifiers), score it after each
        epoch, stop on the rule above and restore the weights of the best score.
    validation_fraction : float, default=0.1
    beta_1, beta_2, epsilon : float, default=0.9, 0.999, 1e-8
        Adam-family moment decays and epsilon.
    dropout : float, default=0.0
        Dropout probability after each hidden activation (not in scikit-learn).
    batch_norm : bool, default=False
        ``BatchNorm1d`` between each hidden Linear layer and its activation (not in scikit-learn).
    weight_decay : float, default=0.0
        The optimizer's weight decay: decoupled for 'adamw', an L2 gradient term for the others.
    optimizer_kwargs : dict, default=None
        Further optimizer arguments (override the ones above).
    scheduler_kwargs : dict, default=None
        Arguments of the 'cosine', 'onecycle', 'step' or 'exponential' scheduler.
    dtype : {'float32', 'float64'}, default='float32'
        Precision of the network (scikit-learn computes in the input's float64 or float32).
    compile : bool or 'auto', default='auto'
        Run each batch's step (forward, loss, backward, L2 penalty, optimizer step) compiled by
        ``eg.compile`` (``fit(compile=True)``, docs/compile.md): the same numbers bit for bit, less
        Python per batch. 'auto' compiles in ``fit`` (every loss and activation of the estimators is
        one a plan holds) and runs ``partial_fit`` eagerly. True compiles
        wherever it can and warns once, naming the reason, where it cannot.
"""

ATTRIBUTES = """
    Attributes
    ----------
    n_features_in_, feature_names_in_ : as scikit-learn (the latter for DataFrames with string columns).
    n_outputs_ : int
        Output units as scikit-learn counts them (1 for binary classification and 1-D regression).
    n_layers_ : int
    n_iter_ : int
        Epochs run by the last fit.
    t_ : int
        Training samples seen over all fits.
    loss_, loss_curve_ : float, list of float
        Penalised training loss of the last epoch / every epoch (scikit-learn's definition).
    best_loss_ : float or None
        Best training loss (None with early stopping).
    validation_scores_, best_validation_score_ : list of float, float, or None
        With early stopping: the score after each epoch and the best one.
    coefs_, intercepts_ : list of ndarray
        scikit-learn's weights: ``coefs_[i]`` of shape (fan_in, fan_out) and ``intercepts_[i]`` of shape
        (fan_out,) for each Linear layer (views of the network's parameters; a binary classifier's
        last layer is given as scikit-learn's single logistic unit, the difference of its two
        softmax units, a copy).
    out_activation_ : str
        'identity', 'logistic' or 'softmax', as scikit-learn.
    model_ : eigengrad.nn.Sequential
        The trained network (outputs are logits for classifiers).
    history_ : eigengrad.train.History
        The last fit's per-epoch record.
"""
