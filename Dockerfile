# The production image: Airflow 3.3 with socialrank installed from the same exact pins as every other install.
FROM apache/airflow:3.3.2-python3.12

USER root
RUN mkdir -p /opt/socialrank/data && chown -R airflow: /opt/socialrank
USER airflow

WORKDIR /opt/socialrank
COPY --chown=airflow:root pyproject.toml constraints.txt README.md ./
COPY --chown=airflow:root pipeline ./pipeline
COPY --chown=airflow:root sql ./sql
COPY --chown=airflow:root expectations ./expectations
COPY --chown=airflow:root dags ./dags
COPY --chown=airflow:root airflow ./airflow
RUN pip install --no-cache-dir --constraint constraints.txt --editable .

# SOCIALRANK_CONFIG: your socialrank.toml, mounted there by docker-compose.yml (never baked into the image).
ENV SOCIALRANK_PROJECT_DIR=/opt/socialrank \
    SOCIALRANK_CONFIG=/opt/socialrank/socialrank.toml \
    SOCIALRANK_HOME=/opt/socialrank/data
