"""Compile flags and work sizes shared by every kernel.

Kept in one place so that no kernel hard-codes a chunk size or a numba option.
"""

#: The segment store a command or a SegmentStore opens when given no URL: a SQLite file in
#: the working folder, so a first run needs no database server. (Here, not in the store
#: package, so that the command line reads it without importing pandas or SQLAlchemy.)
DEFAULT_STORE_URL = "sqlite:///segments.db"

#: Flags for sequential kernels. ``cache=True`` stores the compiled machine code
#: next to the sources, so only the first call on a machine pays for compilation.
#: ``fastmath`` stays off: reductions must keep IEEE order for results that do not
#: depend on the thread count, and NaN/inf must behave as IEEE says.
JIT_OPTIONS = {"cache": True, "nogil": True, "fastmath": False, "error_model": "numpy"}

#: Flags for kernels that split their rows over numba's thread pool.
PARALLEL_JIT_OPTIONS = {**JIT_OPTIONS, "parallel": True}

#: Rows handled together by one thread. Every parallel kernel cuts its rows into
#: chunks of this size, whatever the number of threads, and combines per-chunk
#: partial results in chunk order: the same input gives bit-identical output on
#: any number of threads.
CHUNK_ROWS = 256

#: Number of row blocks for reductions whose partial results are vectors (column
#: sums, variances). Fixed, not tied to the thread count, for the same reason as
#: ``CHUNK_ROWS``; bounds the scratch space to ``REDUCTION_BLOCKS × d`` values.
REDUCTION_BLOCKS = 64

#: Below this much work (multiply-adds: rows × centers × features for dense data,
#: non-zeros × centers for sparse data) a kernel runs on the calling thread: waking
#: the thread pool costs more than it saves, and a fit that runs only serial forms
#: never compiles the parallel ones, which take numba two to three times as long
#: (issue 16 item 5: the cold first fit of 10,000 × 8, k = 8 compiled 23 CPU-s of
#: kernels with their parallel forms, 16 with the serial ones). A pass of 2M
#: multiply-adds takes about a millisecond on one thread. Both paths cut the rows into
#: the same chunks and combine them in the same order, so the choice never changes a
#: result.
PARALLEL_MIN_WORK = 1 << 21

#: Most bytes the bounds of the accelerated iterations (Elkan's n × k lower bounds,
#: Yinyang's n × groups) may take. Elkan runs as Yinyang when its bounds would not
#: fit; Yinyang uses fewer groups. The results are the same, only the speed differs.
BOUNDS_MEMORY_BUDGET = 256 * 2**20

#: Most row blocks :func:`centroids._kernels.dense.weighted_cluster_sums` (and its
#: sparse twin) cut the rows into; each block keeps float64 partial sums for all
#: clusters, added in block order afterwards. Fixed, not tied to the thread count.
CLUSTER_SUMS_BLOCKS = 16

#: Most float64 values the per-block partial cluster sums may hold together
#: (blocks × k × d); with more clusters × features the rows are cut into fewer blocks.
CLUSTER_SUMS_SCRATCH = 1 << 21

#: From this many features on, dense assignment computes ``||c||² - 2 x·c`` through a
#: matrix product per chunk of rows (BLAS); below, direct differences (vectorised over
#: the centers). Measured crossover: direct wins or ties at d = 4 for k = 4..256, the
#: product wins from d = 8 on (1.1-2.3× at d = 8, 1.5-4.6× at d = 64, float32 more).
GEMM_MIN_FEATURES = 8

#: The product assignment (``centroids._kernels.dense.gemm_assign_chunk``) finds a
#: row's nearest and second-nearest center in one pass over its products, without
#: storing its float64 scores, from this many centers on; below, it stores the row's
#: scores (in L1), takes their argmin and counts the centers within the product's
#: reach of it, three short passes with no unpredictable branch. Same labels either
#: way. Measured 2026-12-07 on overlapping blobs, per product: the one pass costs
#: 2.0-2.1× the three at k = 32-64, 1.3× at 128, ties at 256, 0.86× at 512, 0.58× at
#: 1,208 (on products in random order it is faster at every k, so the crossover is
#: set by structured data).
GEMM_ONE_PASS_MIN_CLUSTERS = 256

#: The direct assignment (fewer than ``GEMM_MIN_FEATURES`` features) leaves out, per
#: chunk of rows, the centers the chunk's bounding box proves farther for every row
#: (``centroids._kernels.dense.direct_assign_rows``) from this many clusters on, for
#: rows in spatial order with few features (``DenseData.direct_pruning``). Measured
#: 2026-12-04: on SIPU birch2 (rows sorted along x, k = 100) Lloyd's fused pass took
#: 7.3 ms against 13.2 ms and the fit 62-63 ms against 72-77 ms; where the box leaves
#: every center in, it costs 5-20 % of the pass (1M random rows, d = 2 to 5, k = 40 to
#: 100), so rows in random order do not take it, nor do fewer clusters.
DIRECT_PRUNE_MIN_CLUSTERS = 32

#: The bounded passes (``centroids._kernels.bounded``) give the rows of a chunk whose
#: bounds fail all their distances through one matrix product when those rows hold at
#: least this many multiply-adds (rows × centers × features) and X has at least
#: ``GEMM_MIN_FEATURES`` features; below, a BLAS call costs more than direct differences.
BOUNDED_PRODUCT_MIN_WORK = 1 << 13

#: From this many features on, greedy k-means++ seeding on dense X estimates the
#: candidate distances of a chunk from one matrix product in X's dtype (``||x||² - 2 x·y
#: + ||y||²``, float32 for float32 X) with a bound on their error, and computes directly
#: only the rows within the bound of changing (see ``centroids.engine.seeding``); below,
#: every distance is direct. Measured 2026-11-23 on one thread, same centers either way:
#: the product is 1.5-2.4× faster at d = 8 and 12 (1M × 8, k = 16: 0.74 → 0.56 s in
#: float64, 1.13 → 0.50 s in float32), 1.6-2.1× at d = 6, 1.0-2.1× at d = 4, and 3×
#: slower at d = 2.
SEEDING_GEMM_MIN_FEATURES = 4

#: Greedy k-means++ on dense X with at most this many features and at least
#: ``SEEDING_Z_ORDER_MIN_ROWS`` rows, whose chunks of rows span on average more than
#: ``SEEDING_Z_ORDER_MIN_SPREAD`` of the data's bounding box (rows in no spatial
#: order), seeds a copy of X in Z order (a few bytes a row: O(n)), so that the chunk
#: boxes of the seeding rule out most chunks. Measured 2026-12-03 on birch2 (100,000 ×
#: 2, k = 100) with its rows shuffled: seeding 243 ms, 91 ms on the rows in Z order.
SEEDING_Z_ORDER_MAX_FEATURES = 3
SEEDING_Z_ORDER_MIN_ROWS = 1 << 14
SEEDING_Z_ORDER_MIN_SPREAD = 0.1

#: Share of a chunk's (point, candidate) pairs that must survive pruning for the seeding
#: to take the chunk's candidate distances from the product (else: direct, pair by pair).
SEEDING_PRODUCT_MIN_SHARE = 0.125

#: Greedy k-means++ takes its candidate distances from the product (above) only from
#: this many rows on; below, every distance is direct. The centers are the same either
#: way (the product only filters which direct distances are computed); on fewer rows a
#: seeding takes milliseconds either way, and the direct path compiles two small kernels
#: where the filtered one compiles two large ones (issue 16 item 5: about 3 of the cold
#: first fit's compile seconds at 10,000 × 8).
SEEDING_PRODUCT_MIN_ROWS = 1 << 15

#: ... or, on fewer rows, from this much seeding work on (rows × features × clusters):
#: there the direct candidate distances, a pair at a time, cost 1.6-2.4× scikit-learn's
#: ``kmeans_plusplus`` (10,000 × 112, k = 178; 15,833 × 109, k = 125; 16,556 × 10,
#: k = 1208), the product about half of that (issue 16, docs/benchmarks.md "Seeding on
#: a generated family"). A small first fit (10,000 × 8, k = 8: 6.4e5) stays direct.
SEEDING_PRODUCT_MIN_WORK = 1 << 26

#: Greedy k-means++ rules chunks of rows out by their bounding boxes (``chunks_in_reach``)
#: only from this many rows on; below, every chunk is taken as in reach (always valid:
#: the same centers). On so few rows (at most 64 chunks) a seeding takes milliseconds
#: either way, and the boxes' two kernels cost a cold first fit about 0.6 s of compiling
#: (issue 16 item 5).
SEEDING_CHUNK_BOXES_MIN_ROWS = 1 << 14

#: Below this many values (rows × features) the cluster sums of dense X run on the
#: calling thread. The pass is memory-bound and cheap (200k × 8 float64: 0.6 ms on one
#: thread), so waking the pool rarely pays; measured on the shared 2-core machine, one
#: thread won up to 55M values.
CLUSTER_SUMS_PARALLEL_MIN_WORK = 1 << 24

#: The same for CSR X, in non-zeros: each one scatters into a (k, d) block of partial
#: sums far larger than the cache, so the pool pays much earlier. Measured 2026-12-03 in
#: Lloyd's loop on W5 (50,000 × 20,000, 5M non-zeros, k = 20; 4 alternating runs):
#: 63-89 ms an iteration with the sums on both threads, 76-109 ms on one.
CSR_CLUSTER_SUMS_PARALLEL_MIN_NONZEROS = 1 << 20

#: ``refine="auto"`` runs the swap refinement after Lloyd (``centroids.engine.refine``)
#: when the work of one assignment pass (rows × features × k for dense data, non-zeros ×
#: k for sparse) is at most this (about 1.7e7): small fits, where it costs little and
#: finds every cluster of the small SIPU sets, but not the larger fits whose time
#: targets it would miss. birch2 (100k × 2, k = 100: 2e7) is just above: refining it
#: finds all 100 clusters but takes about 2.5× the plain fit (measured 2026-11-23, the
#: guided swaps; the random swap that now refines dense X costs 3-5× the 0.07 s plain
#: fit there, measured 2026-12-07: a cost-based rule is still to be built).
REFINE_AUTO_MAX_WORK = 1 << 24

#: Above that size, ``refine='auto'`` on dense X runs random swap on a uniform
#: subsample whose one assignment pass costs ``REFINE_SAMPLE_WORK`` (rows × features ×
#: clusters; at least ``REFINE_SAMPLE_MIN_ROWS_PER_CLUSTER`` rows per cluster), then
#: Lloyd on all rows from the swapped centers (``centroids.engine.refine.random_swap_on_sample``).
#: Measured on the 10^6-row customer table (8 groups, k = 8) where one k-means++ start
#: stops 51 % above the optimum: see docs/benchmarks.md, "Refinement by default".
REFINE_SAMPLE_WORK = 1 << 22

#: ``refine='auto'`` caps the random swap trials' work (rows × local centers ×
#: features × steps, summed) at this many full assignment passes over the rows it
#: refines on (all rows, or the subsample): at small k every trial touches most
#: clusters and costs about two passes, so without a cap the 50 rejected trials the
#: stopping rule waits for cost a hundred passes (2.9 s on 150,000 × 13, k = 5, where
#: Lloyd takes 0.2 s); with many clusters trials are local and thousands fit.
REFINE_AUTO_WORK_PASSES = 10
#: At least this many sampled rows per cluster: 300 on W6 (birch2, k = 100) gives the same
#: optimum as 500 on seeds 0-2 (4.5672e11, 9% below scikit-learn's) at 0.44x scikit-learn's
#: time instead of 0.54x (same run, 2026-12-07); the generated families of
#: benchmarks/refine_quality.py reach scikit-learn's best of 10 on all 24 draws with both.
REFINE_SAMPLE_MIN_ROWS_PER_CLUSTER = 300
#: ``refine='auto'`` refines a large dense fit on a sample only where the sample is at most
#: this share of the rows; above it (large k for n) it refines every row under the budget
#: below: refining every row with the sample's budget of 10 passes cost 4x scikit-learn's
#: time on the suite's W2 and W4 (200,000 x 64, k = 256; 300,000 x 32, k = 1,024),
#: whose plain fits take 1/4 of it.
REFINE_SAMPLE_MAX_SHARE = 0.5
#: Where that sample would be more than ``REFINE_SAMPLE_MAX_SHARE`` of the rows (many
#: clusters for n, few rows each), ``refine='auto'`` runs random swap on every row with
#: its trial work (rows x local centers x features x steps, summed) capped at the smaller
#: of ``REFINE_LOCAL_ROW_WORK`` per value of X (n x d) and ``REFINE_LOCAL_FIT_SHARE`` of
#: the fit's own work (its seeding's greedy k-means++ candidates, 2 + ln k passes, and
#: its iterations, n x d x k each). A trial takes about 8 clusters' rows against 8 local
#: centers for 2 steps, so 128 per value is about k trials where every local row fails
#: its bound, more where rows keep their centers: a few trials per cluster whatever k,
#: a cost that shrinks against the fit's (which grows with k). The fit's share binds at
#: small k. A trial's term costs 13-70 times a term of the fit's iterations (one thread,
#: scalar). Measured 2026-12-07 on the grid draw 10,000 x 108, k = 185 and the suite's
#: W4 (300,000 x 32, k = 1,024): see docs/benchmarks.md, "Refinement of fits with many
#: clusters for their rows".
REFINE_LOCAL_ROW_WORK = 128
REFINE_LOCAL_FIT_SHARE = 0.1
#: ``refine='auto'`` on CSR X (guided swaps) lets the trials spend at most this share of
#: the refined run's own iterations: uncapped, 3 rejected trials of up to 10 iterations each
#: cost 4x a 5-iteration sparse fit for no gain (generated grid draw, 61,303 x 266, k = 4).
REFINE_SPARSE_AUTO_TRIAL_SHARE = 1.0

#: Random swap refinement (``centroids.engine.refine.random_swap``): stop after
#: ``REFINE_SWAP_FAILURES_PER_CLUSTER × k`` rejected trials in a row (at least
#: ``REFINE_SWAP_MIN_FAILURES``), at most ``REFINE_SWAP_TRIALS_PER_CLUSTER × k`` trials;
#: a trial takes the ``REFINE_SWAP_NEIGHBOURS`` nearest centers of the moved center and
#: of the target into its local k-means steps.
REFINE_SWAP_FAILURES_PER_CLUSTER = 3
REFINE_SWAP_MIN_FAILURES = 50
REFINE_SWAP_TRIALS_PER_CLUSTER = 50
REFINE_SWAP_NEIGHBOURS = 3

#: ``n_init="auto"`` with a built-in seeding runs independent restarts (each its own
#: k-means++ draw from the one random_state stream, the lowest inertia kept) while their
#: summed work (rows × features × k per run; non-zeros × k for sparse X) stays within
#: ``SMALL_FIT_RESTART_BUDGET``, at most ``SMALL_FIT_MAX_RESTARTS`` and at least one:
#: on small fits one run costs milliseconds and a single draw often stops in a local
#: optimum (the six-point and elbow examples of issue 16), while from 10,000 × 8, k = 8
#: (6.6e5 a run) on a fit keeps its single run and its time.
SMALL_FIT_RESTART_BUDGET = 1 << 20
SMALL_FIT_MAX_RESTARTS = 20

#: ``algorithm="auto"`` (:func:`centroids.engine.choose_algorithm`), dense data:
#: Hamerly from ``AUTO_HAMERLY_MIN_CLUSTERS`` clusters on, Lloyd below, and Lloyd for
#: at most ``AUTO_LLOYD_MAX_FEATURES`` features. Sparse data: Elkan from
#: ``AUTO_SPARSE_ELKAN_MIN_CLUSTERS`` clusters on, Lloyd below. Lloyd for at most
#: ``AUTO_LLOYD_MAX_CLUSTERS`` clusters everywhere. Measured 2026-11-23 on blobs
#: (twice as many true clusters as k, random starts, float32 and float64): Hamerly,
#: whose failing rows take their distances through one product per chunk, is faster
#: than Lloyd by 1.1-3.2× from k = 64 on (d = 8 to 256), ties at k = 32 and is slower
#: at k = 16 (1M × 8: 0.84 s against 0.47 s), where too many rows fail the bounds.
AUTO_LLOYD_MAX_CLUSTERS = 2
AUTO_LLOYD_MAX_FEATURES = 2
AUTO_HAMERLY_MIN_CLUSTERS = 32
#: ... and Lloyd on dense data with fewer than this many rows per cluster (n < 40 k).
#: Measured 2026-12-07 (20 passes from the same rows as centers, 2 threads, Lloyd
#: ms per pass / Hamerly's): 16,556 × 10, k = 1,208 (14 rows a cluster) 0.59
#: overlapping and 0.77 separated; 20,000 × 32, k = 1,000 (20) 0.95 separated; 10,000 ×
#: 64, k = 300 (33) 0.83 separated; 10,000 × 290, k = 689 (15) 0.51 (4 passes); from 40 rows a
#: cluster on Hamerly wins on separated blobs (40,000 × 32, k = 1,000: 1.21; 64,000 ×
#: 16, k = 1,000: 1.50; 30,000 × 64, k = 300: 1.34) and loses on overlapping ones
#: (0.66, 0.76), which n, d and k do not tell apart.
AUTO_HAMERLY_MIN_ROWS_PER_CLUSTER = 40
AUTO_SPARSE_ELKAN_MIN_CLUSTERS = 64

#: Mini-batch steps (``centroids._kernels.minibatch``): below this much work per batch
#: (rows × centers × features for dense data, non-zeros × centers for sparse data) the
#: step kernels run on the calling thread. Higher than ``PARALLEL_MIN_WORK``: the pool is
#: woken once per batch, not once per pass over X, and on a loaded machine a step waits
#: for the slowest thread (measured on the shared 2-core machine: batches of
#: 4096 × 8 × 16 ran several times slower in parallel).
MINIBATCH_PARALLEL_MIN_WORK = 1 << 22

#: Exact silhouette (``centroids._kernels.silhouette``): query rows handled together by
#: one thread (one task of the thread pool).
SILHOUETTE_QUERY_ROWS = 64

#: Column rows whose distances one query row computes at once: the block of columns
#: (block × d values) stays in cache while every query row of a chunk visits it.
SILHOUETTE_COLUMN_BLOCK = 256

#: From this many features on, Euclidean, squared Euclidean and cosine distances of
#: dense rows come from a matrix product per block (``||x||² + ||y||² - 2 x·y``, as
#: scikit-learn computes them); below, from direct differences, which are more accurate
#: and as fast. Measured: the product is 1.1× faster at d = 16, 1.4× at 32, 1.5× at 64.
SILHOUETTE_GEMM_MIN_FEATURES = 32

#: Most float64 values the dense copy of a chunk of sparse query rows may take per
#: thread (query rows × features); with many features a chunk has fewer rows.
SPARSE_QUERY_SCRATCH = 1 << 18

# -- the REST service (centroids serve) ---------------------------------------------------

#: Largest request body the scoring and write endpoints read (bytes); larger is a 413.
SERVE_MAX_BODY_BYTES = 64 * 2**20

#: Most rows one scoring request may carry; more is a 413 (split the batch).
SERVE_MAX_ROWS = 100_000

#: Largest file a retrain job may upload (bytes).
SERVE_MAX_UPLOAD_BYTES = 2**30

#: Seconds between two looks at which version the store serves (a promotion or a new
#: version by another process is picked up within this time; the service's own writes
#: at once).
SERVE_VERSION_CHECK_SECONDS = 1.0

#: Scoring requests with at most this many cells (rows × features) are scored on the
#: event loop; larger ones in the thread pool, so that they do not hold up small ones.
SERVE_INLINE_MAX_CELLS = 1 << 16

#: Environment variables that hold the write token, or the path of a file holding it.
SERVE_TOKEN_VARIABLE = "CENTROIDS_TOKEN"
SERVE_TOKEN_FILE_VARIABLE = "CENTROIDS_TOKEN_FILE"

#: Finished retrain jobs the service remembers (the oldest are forgotten first).
SERVE_JOBS_KEPT = 100

# -- k-means on Dask (centroids.engine.dask) ----------------------------------------------

#: Rows of one fixed block of a Dask fit. Partition boundaries are moved onto multiples
#: of it, and every sum of the fit is taken block by block in row order and combined
#: over a fixed tree of blocks, so that the result does not depend on the partitioning.
DASK_BLOCK_ROWS = 8192

#: Times one pass of a Dask fit is run again after the cluster lost its data (a worker
#: died, the client restarted); the pass is a pure function of the data and the
#: centers, so a rerun gives the same result. Then the fit fails with a clear error.
DASK_PASS_RETRIES = 3

#: k-means runs on the weighted k-means|| candidates that pick a Dask fit's start (the
#: best is kept): each costs a fraction of one pass over X, and together they remove
#: most of the spread between the optima that single draws reach at large k.
DASK_RECLUSTER_STARTS = 3

#: Swap refinement of a Euclidean Dask fit (``refine`` True or 'auto'): before the exact
#: Lloyd passes, the start is refined on the client by the in-memory engine (Lloyd and
#: random swap) over a seeded sample of the rows, drawn per block. The sample holds every
#: row while one assignment pass over X is within ``REFINE_AUTO_MAX_WORK`` (the whole data
#: is then refined, as in memory), else about ``REFINE_AUTO_MAX_WORK / (features × k)``
#: rows, at least ``DASK_REFINE_ROWS_PER_CLUSTER × k`` and at most
#: ``DASK_REFINE_MAX_VALUES / features``.
DASK_REFINE_ROWS_PER_CLUSTER = 64
DASK_REFINE_MAX_VALUES = 1 << 23

#: Seconds ``--dask ADDRESS`` waits for the scheduler before saying it is unreachable.
DASK_CONNECT_TIMEOUT = 10

#: Rows of the seeded sample ``centroids segment --dask`` gathers to the client to choose
#: K, diagnose the segments and draw the report's plots (the fit runs on all rows).
DASK_SAMPLE_ROWS = 20_000

# -- the torch backend (centroids.engine.torch_backend) ----------------------------------

#: ``backend="auto"`` runs a fit (or a prediction) on torch's CUDA device when torch is
#: installed, a CUDA device is present, and one assignment pass does at least this many
#: multiply-adds (rows × features × clusters); below, the numba engine on the CPU. The
#: device then has to pay for importing torch, starting CUDA (about a second, once per
#: process) and copying X over PCIe; the CPU engine does about 1e9-1e10 multiply-adds
#: a second on this project's 2-core machine, so from about 2^30 (1e6 × 64 × 16) one
#: pass takes it 0.1-1 s, and a fit of tens of passes seconds. Not yet measured on a
#: device: ``benchmarks/gpu_bench.py`` prints the crossover to set this from.
TORCH_AUTO_MIN_WORK = 1 << 30

#: Bytes of the (rows × clusters) block of products one chunk of a pass makes on a CUDA
#: device (plus the chunk's rows): large, so that a pass is few big matrix products.
TORCH_CHUNK_BYTES_CUDA = 1 << 28

#: The same on torch's CPU device: a block that stays in the cache.
TORCH_CHUNK_BYTES_CPU = 1 << 22

#: Most values (rows × clusters × features) of one block of the direct float64
#: distances that re-check the rows near a tie.
TORCH_EXACT_BLOCK = 1 << 22

#: A NumPy X is copied to the CUDA device whole when it takes at most this share of the
#: device's free memory; larger X stays on the host and travels in chunks at every pass.
TORCH_RESIDENT_SHARE = 0.5

#: Size-constrained K-Means on at least this many rows starts each run from a constrained
#: fit on a uniform sample of ``CONSTRAINED_SAMPLE_START_ROWS_PER_CLUSTER × k`` rows (bounds
#: scaled to the sample): from k-means++ centers the first assignments on all rows move
#: most rows away from the carried prices, the costly part of a large fit.
CONSTRAINED_SAMPLE_START_MIN_ROWS = 50_000
CONSTRAINED_SAMPLE_START_ROWS_PER_CLUSTER = 1_000

#: Lloyd's fused assignment and cluster sums on dense X run the kernel for few features
#: (``centroids._kernels.lowd``: rows in SIMD lanes, direct distances) with at most
#: ``LOWD_MAX_FEATURES`` features and at most ``LOWD_MAX_CLUSTERS`` centers; above, the
#: product kernel (or, below GEMM_MIN_FEATURES, the direct one over the centers) is faster.
#: Measured (one pass, 300,000 rows, k 4-256, both dtypes, same labels) 1.6-5.6x faster
#: than the product kernel at 8 features, 1.05-5.5x at 10, 1.0-2.5x at 12, mixed at 16
#: (0.66-2.7x). From 8 features its distances are direct float64 ones where the product
#: kernel reports product-based ones; the bounded iterations end on the same dispatch
#: (engine/lloyd.assign_and_sum), so their inertia stays bit-identical to Lloyd's.
LOWD_MAX_FEATURES = 12
LOWD_MAX_CLUSTERS = 256

# -- choose_k (centroids.evaluate.choose_k) ----------------------------------------------

#: A partition whose every pair of clusters is this far apart (medians' distance over the
#: sum of the two spreads along the pair's discriminant direction) has cut no cluster in
#: two: uniform, Gaussian and skewed data cut by k-means score 1.1-1.85 (2-64 features,
#: k up to 20), blobs three spreads apart 2.7-3.0 (uneven sizes and spreads, standardised).
CHOOSE_K_SEPARATION_MIN = 2.5

#: Fewest rows of every cluster for a partition's separation to be measured (NaN below):
#: the spread of a handful of rows says too little.
CHOOSE_K_SEPARATION_MIN_ROWS = 20

#: A column with at most this many distinct values (on CHOOSE_K_SEPARATION_ROWS sampled
#: rows) is discrete (one-hot, coded): clusters split by its values are apart by
#: construction, so there the separation only votes (test_cli's customer table: 7, not 5).
CHOOSE_K_DISCRETE_MAX_VALUES = 16

#: Rows (a sample of every cluster, at least 200 each) the pair separations are measured on.
CHOOSE_K_SEPARATION_ROWS = 20_000

#: Rows of the sample on which starts from the neighbouring K's fits are polished before
#: one pass over all rows says whether they beat the fit in hand.
CHOOSE_K_NEIGHBOUR_SAMPLE_ROWS = 20_000
